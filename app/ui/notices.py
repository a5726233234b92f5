"""What the window says about a render's warnings: the lines for the message bar and the actions it offers.

Plain Python (no Qt), so it is tested without a window.
"""

from __future__ import annotations

from app.carto.groups import far_apart_message


def warning_lines(result, frame_group: int = 0) -> tuple[list[str], list[tuple[str, str]], str]:
    """(lines, links, links_label) for a RenderResult: its warnings as the bar shows them, and for data in
    groups far apart the groups to frame as ("frame:N", label) links (N = 0: all of it)."""
    groups = result.groups
    far = far_apart_message(groups) if groups else None
    lines = [w for w in result.warnings if not (far and w.startswith(far))]  # the CLI's --frame hint is not ours
    if not groups:
        return lines, [], ""
    if 1 <= frame_group <= len(groups):
        g = groups[frame_group - 1]
        lines.insert(0, f"framing group {frame_group} of {len(groups)} far apart: {g.label()}")
        links = [("frame:0", "all of the data")]
        links += [(f"frame:{i}", f"group {i} ({o.short})") for i, o in enumerate(groups, 1) if i != frame_group]
        return lines, links, "Frame instead:"
    lines.insert(0, far)
    return lines, [(f"frame:{i}", f"group {i} ({g.short})") for i, g in enumerate(groups, 1)], "Frame one group:"
