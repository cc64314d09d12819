"""The supervised methods inside a run (tiny random Llama + the real MiniLM): fitted on train, chosen on dev,
recorded, resumed without refitting; features captured in the generation pass itself."""

import json

import numpy as np
import pytest

from labeldist import api
from labeldist.errors import LabeldistError
from labeldist.prompts.fewshot import PromptConfig
from labeldist.records import Example, HumanDistribution, LabelSet, Manifest
from labeldist.runs.runner import RunConfig
from labeldist.runs.store import iter_records
from labeldist.runs.supervised import SupervisedConfig, fit_items

LS = LabelSet(("joy", "anger"))
WORDS = {"joy": ["happy", "glad", "lovely", "great"], "anger": ["furious", "mad", "awful", "hate"]}


def items(prefix, n, split, seed):
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        lab = ["joy", "anger"][i % 2]
        annotations = [(lab,), (lab,), () if rng.random() < 0.5 else (lab,)]
        text = f"so {WORDS[lab][i % 4]} today, item {i}"
        gold = (lab,)
        out.append(Example(f"{prefix}{i}", text, gold, HumanDistribution.from_annotations(annotations, LS),
                           annotations, split))
    return out


TRAIN, DEV, TEST = items("tr", 40, "train", 0), items("dv", 10, "dev", 1), items("te", 6, "test", 2)


@pytest.fixture(scope="module")
def backend(smol_tokenizer):
    """A private tiny random Llama (the SFT stage attaches an adapter to its model)."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    from labeldist.backends.hf import HFBackend

    torch.manual_seed(1)
    cfg = LlamaConfig(vocab_size=len(smol_tokenizer), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                      num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=2048,
                      pad_token_id=smol_tokenizer.pad_token_id, eos_token_id=smol_tokenizer.eos_token_id)
    model = LlamaForCausalLM(cfg).eval()
    with torch.no_grad():
        model.lm_head.weight.mul_(40.0)
    return HFBackend.from_pretrained_objects(model, smol_tokenizer, name="tiny-sft", batch_size=8)


def config(**sup):
    return RunConfig(model="tiny", methods=("generation", "probe", "encoder", "sft"), prompt=PromptConfig(shots=2),
                     batch_size=8, supervised=SupervisedConfig(train_n=30, dev_n=8, encoder_epochs=1, lora_r=4,
                                                               encoder_max_length=32, **sup))


def test_fit_items_leave_out_demos_tests_and_dev():
    cfg = SupervisedConfig(train_n=20, dev_n=5)
    train, dev, source, added = fit_items(TRAIN, DEV, demo_ids={"tr0", "tr1"}, test_ids={"tr2"}, config=cfg, seed=0)
    ids = {e.id for e in train}
    assert len(train) == 20 and len(dev) == 5 and source == "dev split"
    assert not ids & {"tr0", "tr1", "tr2"} and not ids & {e.id for e in dev}
    assert added == {}
    again, _, _, _ = fit_items(TRAIN, DEV, demo_ids={"tr0", "tr1"}, test_ids={"tr2"}, config=cfg, seed=0)
    assert [e.id for e in again] == [e.id for e in train]  # seeded
    train2, dev2, source2, _ = fit_items(TRAIN, None, demo_ids=set(), test_ids=set(), config=cfg, seed=0)
    assert source2.startswith("seeded 20% share") and len(dev2) == 5 and not {e.id for e in train2} & {e.id for e in dev2}
    with pytest.raises(LabeldistError, match="need train and dev items"):
        fit_items(TRAIN[:2], DEV, demo_ids={"tr0", "tr1"}, test_ids=set(), config=cfg, seed=0)


def test_fit_items_add_positives_of_a_label_the_sample_missed():
    # 60 items, label 0 positive on every item; label 1 only on two items the seeded sample of 10 misses.
    # Topped up, the train items are the sample plus exactly those two; dev is untouched.
    pool = [Example(f"p{i}", f"text {i}", gold=("a",)) for i in range(60)]
    cfg = SupervisedConfig(train_n=10, dev_n=5)
    plain, dev, _, none_added = fit_items(pool, DEV, demo_ids=set(), test_ids=set(), config=cfg, seed=0)
    assert len(plain) == 10 and none_added == {}
    rare = [e.id for e in pool if e.id not in {x.id for x in plain}][:2]
    positives = lambda e: {0, 1} if e.id in rare else {0}  # noqa: E731
    train, dev2, _, added = fit_items(pool, DEV, demo_ids=set(), test_ids=set(), config=cfg, seed=0, positives=positives)
    assert added == {1: 2} and {e.id for e in train} == {e.id for e in plain} | set(rare) and dev2 == dev
    # One positive already in the sample: only one more is added.
    pos2 = lambda e: {1} if e.id in {plain[0].id, rare[1]} else set()  # noqa: E731
    train, _, _, added = fit_items(pool, DEV, demo_ids=set(), test_ids=set(), config=cfg, seed=0, positives=pos2)
    assert added == {1: 1} and {e.id for e in train} == {e.id for e in plain} | {rare[1]}


def test_supervised_methods_fit_record_and_resume(backend, tmp_path):
    out = tmp_path / "run"
    res = api.run(TEST, LS, out, config=config(), demo_pool=TRAIN, train_pool=TRAIN, dev_pool=DEV, backend=backend,
                  progress=False)
    man = Manifest.read(out)
    sup = man.supervised
    assert sup["targets"] == "soft" and sup["n_train"] == 30 and sup["n_dev"] == 8 and sup["dev_source"] == "dev split"
    assert set(sup["artefacts"]) == {"probe", "encoder", "encoder_frozen", "sft"}
    for d in ("probe", "encoder", "encoder_frozen", "sft/adapter"):
        assert (out / d).is_dir()
    names = res.methods
    assert {"probe", "encoder", "encoder_frozen", "sft_hard", "sft_max_over_generations"} <= set(names)
    for rec in iter_records(out):
        assert rec.adapted is not None and rec.adapted.generation.diagnostics.constrained
        for m in ("probe", "encoder", "encoder_frozen"):
            p = np.asarray(rec.methods[m])
            assert p.shape == (2,) and np.all((p > 0) & (p < 1)) and rec.artefact_probs[m] == rec.methods[m]
    # features of every item that went through generation: fit items and test items
    index = [json.loads(line) for line in (out / "features" / "features.jsonl").read_text().splitlines()]
    assert {d["split"] for d in index} == {"fit-train", "fit-dev", "test"}
    stamp = (out / "probe" / "classifier.json").stat().st_mtime_ns
    # resume: the records are all there and nothing is refitted
    again = api.run(TEST, LS, out, config=config(), demo_pool=TRAIN, train_pool=TRAIN, dev_pool=DEV, backend=backend,
                    progress=False)
    assert again.summary.n_new == 0 and (out / "probe" / "classifier.json").stat().st_mtime_ns == stamp


def test_probe_features_are_the_generation_passs_own_hidden_state(backend, tmp_path):
    from labeldist.runs.features import FeatureStore
    from labeldist.runs.runner import Classifier

    out = tmp_path / "probe"
    cfg = RunConfig(model="tiny", methods=("generation", "probe"), prompt=PromptConfig(shots=2), batch_size=8,
                    supervised=SupervisedConfig(train_n=30, dev_n=8))
    api.run(TEST, LS, out, config=cfg, demo_pool=TRAIN, train_pool=TRAIN, dev_pool=DEV, backend=backend, progress=False)
    clf = Classifier(backend, LS, cfg, TRAIN)
    (gen,) = backend.generate([clf.build_prompt(TEST[0].text)], candidate_ids=clf.token_map.flat_ids,
                              max_new_tokens=clf.max_new_tokens, constraint=clf.grammar, want_hidden=True)
    stored = FeatureStore(out / "features").matrix("test", [TEST[0].id])[0]
    # the state whose next-token distribution is the first label slot (step 0 of a constrained answer)
    np.testing.assert_allclose(stored, gen.hidden[0], atol=1e-5)


def test_bad_supervised_inputs_are_one_line_errors(backend, tmp_path):
    with pytest.raises(LabeldistError, match="need train and dev items"):
        api.run(TEST, LS, tmp_path / "a", config=config(), demo_pool=[], train_pool=[], dev_pool=None,
                backend=backend, progress=False)
    with pytest.raises(LabeldistError, match="unknown --targets"):
        SupervisedConfig(targets="fuzzy")
    cfg = RunConfig(model="tiny", methods=("sft",), prompt=PromptConfig(shots=0),
                    supervised=SupervisedConfig(train_n=4, dev_n=2, adapter=str(tmp_path / "missing")))
    with pytest.raises(LabeldistError, match="missing"):
        api.run(TEST, LS, tmp_path / "b", config=cfg, train_pool=TRAIN, dev_pool=DEV, backend=backend, progress=False)
