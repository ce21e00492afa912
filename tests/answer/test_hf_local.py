"""The local transformers answerer (``hf:DIR``) on tiny random Qwen2-VL, Qwen2.5-VL and LLaVA models.

The models are built from config into a temp folder (tiny_mllm.py) and loaded through
``load_answerer``, the loader users hit. Their weights are random, so what is checked is the
mechanics: one image per frame, probabilities over the options, determinism, the errors.
Qwen2-VL's full processor needs torchvision here (transformers 5.24), so the Qwen models run on
the image-processor-and-tokenizer path; LLaVA's processor loads, so it runs on the processor path.
"""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from tiny_mllm import build_text_only, build_tiny_mllm

from framepick.answer import Answer, AnswererOptions, load_answerer
from framepick.answer.hf_local import TransformersAnswerer, TransformersAnswererConfig
from framepick.answer.prompt import build_parts
from framepick.errors import AnswererError

OPTIONS = ["a red car", "a dog", "a cat", "a boat"]
RNG = np.random.default_rng(0)
FRAMES = RNG.integers(0, 255, size=(3, 56, 56, 3), dtype=np.uint8)
TIMES = [0.5, 1.0, 12.25]


@pytest.fixture(scope="module")
def model_dirs(tmp_path_factory) -> dict[str, str]:
    root = tmp_path_factory.mktemp("tiny-mllm")
    return {family: str(build_tiny_mllm(root / family, family)) for family in ("qwen2_vl", "qwen2_5_vl", "llava")}


@pytest.fixture(scope="module")
def answerers(model_dirs) -> dict[str, TransformersAnswerer]:
    return {family: load_answerer(f"hf:{folder}") for family, folder in model_dirs.items()}


FAMILIES = ["qwen2_vl", "qwen2_5_vl", "llava"]


@pytest.mark.parametrize("family", FAMILIES)
def test_option_probabilities_from_one_forward_pass(answerers, family):
    answerer = answerers[family]
    assert isinstance(answerer, TransformersAnswerer)
    answer = answerer.answer(FRAMES, TIMES, "What is in the video?", OPTIONS)
    assert answer.source == "logits"
    assert len(answer.option_probs) == len(OPTIONS)
    assert sum(answer.option_probs) == pytest.approx(1.0, abs=1e-9)
    assert answer.letter == "ABCD"[int(np.argmax(answer.option_probs))]
    assert isinstance(answer.text, str)  # the token the model would have written
    two = answerer.answer(FRAMES, TIMES, "What is in the video?", OPTIONS[:2])
    assert len(two.option_probs) == 2 and two.letter in ("A", "B")


@pytest.mark.parametrize("family", FAMILIES)
def test_the_same_question_gets_the_same_answer(answerers, family):
    answerer = answerers[family]
    first = answerer.answer(FRAMES, TIMES, "What is in the video?", OPTIONS)
    second = answerer.answer(FRAMES.copy(), list(TIMES), "What is in the video?", list(OPTIONS))
    assert first == second


def test_the_qwen_models_build_inputs_without_torchvision_and_llava_through_its_processor(answerers):
    assert answerers["qwen2_vl"].inputs.kind == "image processor + tokenizer"
    assert answerers["qwen2_5_vl"].inputs.kind == "image processor + tokenizer"
    assert answerers["llava"].inputs.kind == "processor"


def _image_runs(input_ids, image_token_id: int) -> int:
    is_image = (np.asarray(input_ids[0].cpu()) == image_token_id).astype(np.int8)
    return int(np.sum(np.diff(np.concatenate([[0], is_image])) == 1))


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("count", [1, 2, 3])
def test_each_frame_is_exactly_one_image(answerers, family, count):
    """No padding of odd counts, no duplicated frames: n frames, n images, n placeholder runs."""
    answerer = answerers[family]
    frames = RNG.integers(0, 255, size=(count, 56, 56, 3), dtype=np.uint8)
    parts = build_parts(answerer.template, frames, TIMES[:count], "What?", OPTIONS)
    inputs = answerer.model_inputs(parts)
    config = answerer.model.config
    image_token_id = getattr(config, "image_token_id", None) or config.image_token_index
    assert _image_runs(inputs["input_ids"], image_token_id) == count
    if family == "llava":
        assert inputs["pixel_values"].shape[0] == count
    else:
        assert inputs["image_grid_thw"].shape[0] == count
        assert int(inputs["mm_token_type_ids"].sum()) == int((inputs["input_ids"] == image_token_id).sum())


def test_the_prompt_has_each_frame_time_and_the_question_in_the_chat_template(answerers):
    answerer = answerers["qwen2_vl"]
    parts = build_parts(answerer.template, FRAMES, TIMES, "What is in the video?", OPTIONS)
    text = answerer.tokenizer.decode(answerer.model_inputs(parts)["input_ids"][0])
    assert text.startswith("<|im_start|>system\n")
    assert "Frame 1 at 0.5s:<|vision_start|><|image_pad|>" in text
    assert "Frame 3 at 12.2s:<|vision_start|>" in text or "Frame 3 at 12.3s:<|vision_start|>" in text
    assert "A. a red car\nB. a dog" in text
    assert text.endswith("Answer with the option's letter from the given choices directly.<|im_end|>\n<|im_start|>assistant\n")


def test_inputs_without_the_processor_equal_the_processors(answerers, monkeypatch):
    """The torchvision-free path makes what Qwen2VLProcessor makes (built here without its video
    processor by skipping transformers' class check, which is what needs torchvision)."""
    from transformers.processing_utils import ProcessorMixin

    try:
        from transformers.models.qwen2_vl.processing_qwen2_vl import Qwen2VLProcessor
    except ImportError:
        pytest.skip("no Qwen2VLProcessor in this transformers")
    answerer = answerers["qwen2_vl"]
    monkeypatch.setattr(ProcessorMixin, "check_argument_for_proper_class", lambda self, name, arg: None)
    try:
        processor = Qwen2VLProcessor(
            image_processor=answerer.inputs.image_processor, tokenizer=answerer.tokenizer,
            video_processor=None, chat_template=answerer.inputs.chat_template,
        )
    except Exception as error:  # another transformers version builds processors otherwise
        pytest.skip(f"cannot build Qwen2VLProcessor without a video processor here: {error}")
    frames = RNG.integers(0, 255, size=(3, 90, 120, 3), dtype=np.uint8)
    parts = build_parts(answerer.template, frames, TIMES, "What?", OPTIONS)
    messages = answerer.messages(parts)
    images = [answerer._picture(frame) for frame in frames]
    ours = answerer.inputs(messages, images)
    text = processor.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
    reference = processor(text=[text], images=images, return_tensors="pt")
    assert set(reference) <= set(ours)
    for key in reference:
        assert ours[key].dtype == reference[key].dtype, key
        assert bool((ours[key] == reference[key]).all()), key


def test_an_open_question_gets_generated_text(model_dirs):
    answerer = TransformersAnswerer(TransformersAnswererConfig(source=model_dirs["qwen2_vl"], open_max_tokens=6))
    answer = answerer.answer(FRAMES, TIMES, "What happens?", [])
    assert answer.letter is None and answer.option_probs is None and answer.source is None
    assert isinstance(answer.text, str) and answer.text
    assert answer == answerer.answer(FRAMES, TIMES, "What happens?", [])


def test_both_spellings_of_a_letter_count(answerers):
    answerer = answerers["qwen2_vl"]
    tokenizer = answerer.tokenizer
    assert answerer.letter_token_ids("A") == [tokenizer.convert_tokens_to_ids("A"), tokenizer.convert_tokens_to_ids("\u0120A")]
    assert answerer.letter_token_ids("F") == [tokenizer.convert_tokens_to_ids("F")]  # no " F" token


def test_an_option_letter_of_two_tokens_is_a_one_line_error(answerers, monkeypatch):
    answerer = answerers["qwen2_vl"]
    tokenizer = answerer.tokenizer
    original = tokenizer.encode

    def two_token_e(text, **kwargs):
        return original("EE", **kwargs) if text == "E" else original(text, **kwargs)

    monkeypatch.setattr(answerer, "_letter_ids", {})
    monkeypatch.setattr(tokenizer, "encode", two_token_e)
    with pytest.raises(AnswererError, match="option letter 'E' is 2 tokens") as caught:
        answerer.answer(FRAMES, TIMES, "What?", OPTIONS + ["a plane"])
    assert "\n" not in str(caught.value)


def test_more_frames_than_the_context_is_an_error_before_the_forward_pass(answerers, monkeypatch):
    answerer = answerers["qwen2_vl"]
    monkeypatch.setattr(answerer, "context", 60)
    monkeypatch.setattr(answerer.model, "forward", lambda *a, **k: pytest.fail("the model ran"))
    with pytest.raises(AnswererError, match=r"3 frames make a \d+-token prompt, more than the model's context of 60"):
        answerer.answer(FRAMES, TIMES, "What?", OPTIONS)


def test_the_id_names_model_dtype_and_prompt_but_not_the_device(answerers, model_dirs, tmp_path):
    answerer = answerers["qwen2_vl"]
    assert answerer.id.startswith(f"hf:{model_dirs['qwen2_vl']}@")
    assert ":float32:" in answerer.id and answerer.id.endswith(answerer.template.id)
    assert "cpu" not in answerer.id.replace(model_dirs["qwen2_vl"], "")
    assert answerer.id == load_answerer(f"hf:{model_dirs['qwen2_vl']}", AnswererOptions(device="cpu")).id
    prompt = tmp_path / "terse.json"
    prompt.write_text(json.dumps({"choice_instruction": "Letter only."}))
    other = load_answerer(f"hf:{model_dirs['qwen2_vl']}", AnswererOptions(prompt=str(prompt), dtype="bfloat16"))
    assert other.id != answerer.id and ":bfloat16:" in other.id
    assert isinstance(other.answer(FRAMES, TIMES, "What?", OPTIONS), Answer)
    assert answerers["qwen2_5_vl"].id.split("@")[1] != answerer.id.split("@")[1]  # another model, another fingerprint


# -- models that cannot answer: one-line errors ------------------------------------------------


def _one_line_error(spec: str, match: str) -> str:
    with pytest.raises(AnswererError, match=match) as caught:
        load_answerer(spec)
    message = str(caught.value)
    assert "\n" not in message and "Traceback" not in message
    return message


def test_a_text_only_model_is_a_one_line_error(tmp_path):
    folder = build_text_only(tmp_path / "text-only")
    message = _one_line_error(f"hf:{folder}", "is a 'qwen2' model, which AutoModelForImageTextToText does not load")
    assert "image-text-to-text" in message


def test_a_folder_without_an_image_processor_is_a_one_line_error(model_dirs, tmp_path):
    folder = tmp_path / "no-processor"
    shutil.copytree(model_dirs["qwen2_vl"], folder)
    (folder / "preprocessor_config.json").unlink()
    _one_line_error(f"hf:{folder}", "has no usable image processor")


def test_a_folder_without_a_chat_template_is_a_one_line_error(model_dirs, tmp_path):
    folder = tmp_path / "no-template"
    shutil.copytree(model_dirs["qwen2_vl"], folder)
    (folder / "chat_template.jinja").unlink()
    config = json.loads((folder / "tokenizer_config.json").read_text())
    config.pop("chat_template", None)
    (folder / "tokenizer_config.json").write_text(json.dumps(config))
    _one_line_error(f"hf:{folder}", "has no chat template")


def test_a_missing_folder_and_an_uncached_hub_id_offline_are_one_line_errors(tmp_path, monkeypatch):
    _one_line_error(f"hf:{tmp_path / 'nowhere'}", "does not exist")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    message = _one_line_error("hf:framepick-test/not-a-model", "not in the local Hugging Face cache")
    assert "hf download framepick-test/not-a-model" in message


def test_a_spec_without_a_model_is_an_error():
    from framepick.errors import InvalidArgumentError

    with pytest.raises(InvalidArgumentError, match="hf answerer needs a model"):
        load_answerer("hf")


def _cuda_available() -> bool:
    import torch

    return torch.cuda.is_available()


@pytest.mark.skipif(not _cuda_available(), reason="no GPU: the CUDA path runs where torch sees one")
@pytest.mark.parametrize("family", FAMILIES)
def test_a_gpu_gives_the_cpus_answer_and_id(model_dirs, family):
    cpu = load_answerer(f"hf:{model_dirs[family]}", AnswererOptions(device="cpu", dtype="float32"))
    gpu = load_answerer(f"hf:{model_dirs[family]}", AnswererOptions(device="cuda", dtype="float32"))
    assert gpu.id == cpu.id and str(next(gpu.model.parameters()).device).startswith("cuda")
    on_cpu = cpu.answer(FRAMES, TIMES, "What is in the video?", OPTIONS)
    on_gpu = gpu.answer(FRAMES, TIMES, "What is in the video?", OPTIONS)
    np.testing.assert_allclose(on_gpu.option_probs, on_cpu.option_probs, atol=1e-4)
    half = load_answerer(f"hf:{model_dirs[family]}", AnswererOptions(device="cuda"))  # auto: bfloat16/float16
    assert half.id != cpu.id and sum(half.answer(FRAMES, TIMES, "What?", OPTIONS).option_probs) == pytest.approx(1.0)


def test_auto_device_without_a_gpu_is_the_cpu_and_the_same_id(answerers, model_dirs):
    if _cuda_available():
        pytest.skip("a GPU is visible")
    auto = load_answerer(f"hf:{model_dirs['llava']}", AnswererOptions(device="auto"))
    assert auto.device == "cpu" and auto.id == answerers["llava"].id
