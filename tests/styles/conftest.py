import pytest

from tests.styles.styles_synth import synthetic_layers


@pytest.fixture(scope="session")
def town():
    return synthetic_layers(320, 240)
