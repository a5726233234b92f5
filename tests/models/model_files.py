"""Small real model files for the tests, written with the formats' own libraries."""


def gguf_bytes(tmp_path) -> bytes:
    """A small city96-style file: architecture 'lumina2', a 2-D F16 tensor and a 1-D F32 one."""
    import gguf
    import numpy as np

    path = tmp_path / "w.gguf"
    w = gguf.GGUFWriter(str(path), "lumina2")
    w.add_tensor("x_embedder.weight", np.ones((64, 48), np.float16))
    w.add_tensor("norm_final.weight", np.ones(48, np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return path.read_bytes()
