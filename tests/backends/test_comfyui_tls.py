"""A ComfyUI server behind https, on 127.0.0.1 with a certificate of a CA made in the test (trustme): refused in one
line while it is not trusted, used with --comfyui-insecure or its CA file, and its progress socket is wss://."""

from __future__ import annotations

import ssl

import pytest

pytest.importorskip("websockets")
pytest.importorskip("trustme")

from app.backends.comfyui.client import ComfyClient, ComfyError
from tests.backends.comfy_server import FakeComfy
from tests.backends.test_comfyui_client import config, object_info, upload_and_graph


@pytest.fixture(scope="module")
def tls(tmp_path_factory):
    """(the server's SSL context, the CA's PEM file, a CA file that did not sign the server's certificate)."""
    import trustme

    ca = trustme.CA()
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert("127.0.0.1").configure_cert(ctx)
    folder = tmp_path_factory.mktemp("tls")
    ca.cert_pem.write_to_path(str(folder / "ca.pem"))
    trustme.CA().cert_pem.write_to_path(str(folder / "other.pem"))
    return ctx, folder / "ca.pem", folder / "other.pem"


def test_an_untrusted_certificate_is_one_clear_line(tls, tmp_path, capsys):
    from app.cli import example_inputs, main

    ctx, _, other = tls
    with FakeComfy(object_info(), tls=ctx) as srv:
        assert srv.url.startswith("https://127.0.0.1:")
        for cfg in (config(srv.url), config(srv.url, ca_file=str(other))):  # the system's CAs; another CA
            with pytest.raises(ComfyError) as e:
                ComfyClient(cfg).system_stats()
            text = e.value.one_line()
            assert text.startswith(f"the ComfyUI server at {srv.url[8:]} has a TLS certificate we cannot verify")
            assert "--comfyui-insecure" in text and "--comfyui-ca-file" in text and "\n" not in text
        # batch asks the server before any map is painted (render would compose the map first: slower to test)
        code = main(["batch", str(example_inputs()[0]), "--out", str(tmp_path / "maps"), "--engine", "preview",
                     "--backend", "comfyui", "--comfyui-url", srv.url])  # fmt: skip
        assert srv.tls_failures and srv.paths() == []  # every try ended in the TLS handshake
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "TLS certificate we cannot verify" in err[0], err
    assert not list((tmp_path / "maps").glob("*.png"))
    code = main(["render", str(example_inputs()[0]), "--engine", "preview", "--backend", "comfyui",
                 "--comfyui-url", srv.url, "--comfyui-ca-file", str(tmp_path / "none.pem")])  # fmt: skip
    assert code == 2 and "--comfyui-ca-file: no such file" in capsys.readouterr().err


def test_insecure_or_the_ca_file_connect_and_progress_comes_over_wss(tls):
    ctx, ca_file, _ = tls
    with FakeComfy(object_info(), tls=ctx, steps=3) as srv:
        for cfg in (config(srv.url, verify=False), config(srv.url, ca_file=str(ca_file))):
            client = ComfyClient(cfg)
            assert client._ws_url().startswith(f"wss://127.0.0.1:{srv.url.rsplit(':', 1)[1]}/ws?clientId=")
            steps: list[int] = []
            image = client.run(upload_and_graph(client), on_progress=lambda v, m, n, s=steps: s.append(v))
            assert image[0, 0, 0] == 120
            # progress arrives only on the socket: a ws:// (plain) socket cannot talk to this port, and the client
            # would have fallen back to polling /history, which reports no steps
            assert steps == [1, 2, 3]
        assert sum(p.startswith("/ws?") for p in srv.paths("GET")) == 2
        assert srv.tls_failures == 0


def test_the_settings_ca_file_is_the_one_the_window_connects_with(tls):
    """Settings → Engines → CA certificate (comfyui_ca_file) reaches the client: trusted with it, refused without."""
    from app.backends.comfyui.tokens import server_config
    from app.settings import Settings
    from tests.backends.test_comfyui_client_tokens import MemoryKeyring

    ctx, ca_file, _ = tls
    with FakeComfy(object_info(), tls=ctx) as srv:
        s = Settings(backend="comfyui", comfyui_url=srv.url, comfyui_ca_file=str(ca_file))
        assert ComfyClient(server_config(s, keyring=MemoryKeyring())).system_stats()["devices"]
        s.comfyui_ca_file = ""
        with pytest.raises(ComfyError, match="TLS certificate we cannot verify"):
            ComfyClient(server_config(s, keyring=MemoryKeyring())).system_stats()
