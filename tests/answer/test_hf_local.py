"""The local transformers answerer (``hf:DIR``) on tiny random Qwen2-VL, Qwen2.5-VL and LLaVA models.

The models are built from config into a temp folder (tiny_mllm.py) and loaded through
``load_answerer``, the loader users hit. Their weights are random, so what is checked is the
mechanics: one image per frame, probabilities over the options, determinism, the errors.
In transformers 5.x Qwen2-VL's full processor needs torchvision (for its video processor), so
without it the Qwen models run on the image-processor-and-tokenizer path; in 4.46 their processor
has no video processor and loads, as LLaVA's does everywhere: those run on the processor path.
Both paths are compared on the same model where the processor loads. The same tests run on
transformers 4.46 (framepick's floor), where Qwen2.5-VL does not exist and is skipped.
"""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from tiny_mllm import build_text_only, build_tiny_mllm, missing_family

from framepick.answer import Answer, AnswererOptions, load_answerer
from framepick.answer.hf_local import TransformersAnswerer, TransformersAnswererConfig
from framepick.answer.prompt import build_parts
from framepick.errors import AnswererError

OPTIONS = ["a red car", "a dog", "a cat", "a boat"]
RNG = np.random.default_rng(0)
FRAMES = RNG.integers(0, 255, size=(3, 56, 56, 3), dtype=np.uint8)
TIMES = [0.5, 1.0, 12.25]


# A family the installed transformers lacks (Qwen2.5-VL before 4.49) is skipped, saying why.
FAMILIES = [
    pytest.param(family, marks=pytest.mark.skipif(bool(missing_family(family)), reason=str(missing_family(family))))
    for family in ("qwen2_vl", "qwen2_5_vl", "llava")
]
BUILDABLE = [family for family in ("qwen2_vl", "qwen2_5_vl", "llava") if not missing_family(family)]


@pytest.fixture(scope="module")
def model_dirs(tmp_path_factory) -> dict[str, str]:
    root = tmp_path_factory.mktemp("tiny-mllm")
    return {family: str(build_tiny_mllm(root / family, family)) for family in BUILDABLE}


@pytest.fixture(scope="module")
def answerers(model_dirs) -> dict[str, TransformersAnswerer]:
    return {family: load_answerer(f"hf:{folder}") for family, folder in model_dirs.items()}


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


def _processor_loads(folder: str) -> bool:
    from transformers import AutoProcessor

    try:
        return getattr(AutoProcessor.from_pretrained(folder), "image_processor", None) is not None
    except Exception:  # 5.x's Qwen2VLProcessor without torchvision
        return False


def test_the_full_processor_when_it_loads_else_image_processor_and_tokenizer(answerers, model_dirs):
    assert answerers["llava"].inputs.kind == "processor"
    for family in ("qwen2_vl", "qwen2_5_vl"):
        if family in answerers:
            expected = "processor" if _processor_loads(model_dirs[family]) else "image processor + tokenizer"
            assert answerers[family].inputs.kind == expected, family


def test_without_its_processor_a_qwen_model_answers_the_same(answerers, model_dirs, monkeypatch):
    """The torchvision-free path, forced by a processor that fails to load, gives the processor
    path's answer (where the processor loads: transformers 4.x, or 5.x with torchvision)."""
    import transformers

    def no_processor(*args, **kwargs):
        raise ImportError("no torchvision (simulated)")

    monkeypatch.setattr(transformers.AutoProcessor, "from_pretrained", no_processor)
    fallback = load_answerer(f"hf:{model_dirs['qwen2_vl']}")
    assert fallback.inputs.kind == "image processor + tokenizer"
    assert fallback.id == answerers["qwen2_vl"].id
    ours = fallback.answer(FRAMES, TIMES, "What is in the video?", OPTIONS)
    theirs = answerers["qwen2_vl"].answer(FRAMES, TIMES, "What is in the video?", OPTIONS)
    assert ours.letter == theirs.letter and ours.text == theirs.text
    np.testing.assert_allclose(ours.option_probs, theirs.option_probs, atol=1e-6)


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
        if "mm_token_type_ids" in answerer._forward_params:  # transformers 5.x's M-RoPE
            assert int(inputs["mm_token_type_ids"].sum()) == int((inputs["input_ids"] == image_token_id).sum())
    assert set(inputs) <= answerer._forward_params or answerer._forward_takes_any


def test_the_prompt_has_each_frame_time_and_the_question_in_the_chat_template(answerers):
    answerer = answerers["qwen2_vl"]
    parts = build_parts(answerer.template, FRAMES, TIMES, "What is in the video?", OPTIONS)
    text = answerer.tokenizer.decode(answerer.model_inputs(parts)["input_ids"][0])
    assert text.startswith("<|im_start|>system\n")
    assert "Frame 1 at 0.5s:<|vision_start|><|image_pad|>" in text
    assert "Frame 3 at 12.2s:<|vision_start|>" in text or "Frame 3 at 12.3s:<|vision_start|>" in text
    assert "A. a red car\nB. a dog" in text
    assert text.endswith("Answer with the option's letter from the given choices directly.<|im_end|>\n<|im_start|>assistant\n")


def test_inputs_without_the_processor_equal_the_processors(answerers, model_dirs, monkeypatch):
    """The torchvision-free path makes what Qwen2VLProcessor makes (built here without its video
    processor by skipping transformers' class check, which is what needs torchvision)."""
    from transformers import AutoImageProcessor
    from transformers.processing_utils import ProcessorMixin

    from framepick.answer.hf_local import _ImageGridInputs

    try:
        from transformers.models.qwen2_vl.processing_qwen2_vl import Qwen2VLProcessor
    except ImportError:
        pytest.skip("no Qwen2VLProcessor in this transformers")
    answerer = answerers["qwen2_vl"]
    image_processor = AutoImageProcessor.from_pretrained(model_dirs["qwen2_vl"])
    template = answerer.inputs.chat_template
    grid_inputs = _ImageGridInputs(
        image_processor, answerer.tokenizer, template, "<|image_pad|>", type_ids="mm_token_type_ids" in answerer._forward_params
    )
    # 5.x checks the video processor's class, which is what needs torchvision; 4.x has no such check
    monkeypatch.setattr(ProcessorMixin, "check_argument_for_proper_class", lambda self, name, arg: None, raising=False)
    try:
        processor = Qwen2VLProcessor(
            image_processor=image_processor, tokenizer=answerer.tokenizer, video_processor=None, chat_template=template,
        )
    except Exception as error:  # another transformers version builds processors otherwise
        pytest.skip(f"cannot build Qwen2VLProcessor without a video processor here: {error}")
    frames = RNG.integers(0, 255, size=(3, 90, 120, 3), dtype=np.uint8)
    parts = build_parts(answerer.template, frames, TIMES, "What?", OPTIONS)
    messages = answerer.messages(parts)
    images = [answerer._picture(frame) for frame in frames]
    ours = grid_inputs(messages, images)
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


def test_generating_logs_no_notice_about_unexpanded_image_tokens(model_dirs):
    """transformers 4.46's LLaVA logs "Expanding inputs for image tokens ... should be done in
    processing" at every generate's first decoding step although the processor expanded them."""
    import logging

    answerer = TransformersAnswerer(TransformersAnswererConfig(source=model_dirs["llava"], open_max_tokens=3))
    messages: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            messages.append(record.getMessage())

    model_logger = logging.getLogger(type(answerer.model).__module__)
    handler = Keep(level=logging.WARNING)
    model_logger.addHandler(handler)
    once = getattr(logging.Logger, "warning_once", None)  # transformers' lru-cached warning_once
    if hasattr(once, "cache_clear"):
        once.cache_clear()
    try:
        answerer.answer(FRAMES, TIMES, "What happens?", [])
    finally:
        model_logger.removeHandler(handler)
    assert not [m for m in messages if "Expanding inputs for image tokens" in m]


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
    assert answerers["llava"].id.split("@")[1] != answerer.id.split("@")[1]  # another model, another fingerprint


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


def test_a_model_type_this_transformers_does_not_know_is_a_one_line_error(model_dirs, tmp_path):
    import transformers

    folder = tmp_path / "future"
    shutil.copytree(model_dirs["qwen2_vl"], folder)
    config = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps(config | {"model_type": "framepick_future_vl"}))
    message = _one_line_error(f"hf:{folder}", "'framepick_future_vl' model, which transformers .* does not know")
    assert transformers.__version__ in message and "newer transformers" in message


@pytest.mark.skipif(not missing_family("qwen2_5_vl"), reason="this transformers has Qwen2.5-VL")
def test_a_qwen2_5_vl_model_before_transformers_4_49_names_the_version_it_needs(model_dirs, tmp_path):
    folder = tmp_path / "qwen2_5_vl"
    shutil.copytree(model_dirs["qwen2_vl"], folder)
    config = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps(config | {"model_type": "qwen2_5_vl"}))
    _one_line_error(f"hf:{folder}", r"'qwen2_5_vl' model, .* it needs transformers >= 4\.49")


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


@pytest.mark.parametrize("family", FAMILIES)
def test_generate_writes_text_for_any_prompt_of_parts(answerers, family) -> None:
    from framepick.answer.prompt import ImagePart, TextPart

    parts = [TextPart("Frame 0:"), ImagePart(FRAMES[0], None), TextPart("Frame 1:"), ImagePart(FRAMES[1], None),
             TextPart("Name the key clips.")]
    reply = answerers[family].generate(parts, 8)
    assert isinstance(reply, str) and reply == answerers[family].generate(parts, 8)  # greedy: the same twice


def test_kframes_clip_model_end_to_end_on_the_tiny_model(model_dirs, segment_video, tmp_path) -> None:
    """The random model's reply is not a clip list: the selection falls back and says so."""
    from framepick.clip_model import select_with_clip_model

    selection = select_with_clip_model(
        segment_video, "When is the screen red?", 4, clip_model=f"hf:{model_dirs['qwen2_vl']}", shown=4,
        candidates=16, encoder="offline", cache=tmp_path / "cache",
    )
    assert len(selection) == 4 and selection.params["clip_model"].startswith("hf:")
    assert selection.params["clip_source"] in ("mllm", "similarity")
    assert (selection.params["clip_fallback"] is None) == (selection.params["clip_source"] == "mllm")
