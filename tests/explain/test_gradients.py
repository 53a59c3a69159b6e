import numpy as np
import pytest

from kbert.explain.gradients import completeness, integrated_gradients, word_attributions


@pytest.mark.parametrize("baseline", ["zero", "pad"])
def test_attributions_add_up_and_the_model_is_restored(predictor, baseline):
    ids = predictor.preproc.tokenize(["i feel so happy today"])[0]["token_ids"][0].numpy()[None]
    inputs = {"token_ids": ids, "segment_ids": np.zeros_like(ids), "padding_mask": np.ones_like(ids)}
    before = predictor.model(inputs).numpy()
    moving = np.ones(ids.shape[1], dtype=bool)
    moving[[0, -1]] = False
    attr, at_x, at_b, steps = integrated_gradients(predictor.model, inputs, moving, lambda o: o[:, 1],
                                                   baseline=baseline)
    assert at_x == pytest.approx(float(before[0, 1]), abs=1e-4)
    assert completeness(attr, at_x, at_b) <= 0.05 and steps <= 800
    assert attr[0] == attr[-1] == 0.0
    np.testing.assert_allclose(predictor.model(inputs).numpy(), before)  # the layer is unpatched
    with pytest.raises(ValueError, match="baseline"):
        integrated_gradients(predictor.model, inputs, moving, lambda o: o[:, 1], baseline="mean")


def test_word_attributions_sum_pieces():
    np.testing.assert_allclose(word_attributions([0.0, 1.0, 2.0, 3.0, 0.0], [-1, 0, 0, 1, -1], 2), [3.0, 3.0])
