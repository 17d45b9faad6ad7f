"""Every shipped Envoy config is valid for the pinned Envoy, and bad plugin configs are refused
at load with the field path in the log."""
import pytest
import yaml

from harness import envoy as envoy_h
from harness import paths

CONFIGS = sorted(paths.CONFIGS.glob("*.yaml"))


def test_there_are_configs():
    assert any(p.name == "gateway.yaml" for p in CONFIGS)


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_envoy_validates(path, tmp_path):
    cfg = envoy_h.adapt(yaml.safe_load(path.read_text()), mock_port=None)
    out = tmp_path / path.name
    out.write_text(yaml.safe_dump(cfg))
    result = envoy_h.validate(out)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "OK" in result.stdout + result.stderr


BAD = [
    ("portcullis.router", '{"providers":{"openai":{"kind":"openai"}},"routes":[{"model":"gpt-*","provider":"opena1"}]}',
     "invalid plugin config at `routes[0].provider`: unknown provider `opena1`"),
    ("portcullis.router", '{"providers":{"x":{"kind":"openia"}}}', "invalid plugin config at `providers.x.kind`"),
    ("portcullis.credentials", '{"providers":{"openai":{"keyEnv":"A","kye":"b"}}}',
     "invalid plugin config at `providers.openai.kye`: unknown field `kye`"),
    ("portcullis.prompt", '{"decorators":[{"role":"sytem","content":"x"}]}', "invalid plugin config at `decorators[0].role`"),
    ("portcullis.usage", '{"maxJsonBytes":"big"}', "invalid plugin config at `maxJsonBytes`"),
    ("portcullis.usage", '{"budgets":[{"name":"a","tokens":5,"window":"fortnight"}]}',
     "invalid plugin config at `budgets[0].window`: must be `minute`, `hour`, `day`, `month`"),
    ("portcullis.usage", '{"budgets":[{"name":"a","cost":5,"window":"day"}]}',
     "invalid plugin config at `budgets[0].cost`: a cost budget needs a price table"),
    ("portcullis.usage", '{"prices":{"currency":"USD","models":[{"model":"m","input":-1,"output":1}]}}',
     "invalid plugin config at `prices.models[0].input`"),
    ("portcullis.usage", '{"limits":[{"model":"gpt-*","maxPromptTokens":0}]}',
     "invalid plugin config at `limits[0].maxPromptTokens`: must be at least 1"),
    ("portcullis.usage", '{"globalBudget":{"reserv":5}}',
     "invalid plugin config at `globalBudget.reserv`: unknown field `reserv`"),
    ("portcullis.usage", '{"globalBudget":{"reserve":-1}}', "invalid plugin config at `globalBudget.reserve`"),
    ("portcullis.router", '{"providers":{"a":{"kind":"anthropic","streamUsage":true}}}',
     "invalid plugin config at `providers.a.streamUsage`: not a setting of kind `anthropic`"),
    ("portcullis.prompt", '{"policies":{"kb":{"retrieval":{"store":{"chroma":{"cluster":"chroma","collection":"docs"}}}}}}',
     "invalid plugin config at `policies.kb.retrieval.embeddings`: required: this store is queried by vector"),
    ("portcullis.prompt", '{"policies":{"kb":{"retrieval":{"store":{"http":{"cluster":"kb","path":"/q"}},'
     '"template":"{{contexts}}"}}}}',
     "invalid plugin config at `policies.kb.retrieval.template`: unknown placeholder `{{contexts}}`"),
    ("portcullis.router", "not json", "invalid plugin config at `.`"),
]


@pytest.mark.parametrize("filter_name,config,expected", BAD, ids=[f"{b[0]}-{i}" for i, b in enumerate(BAD)])
def test_invalid_plugin_config_is_refused_with_field_path(filter_name, config, expected, tmp_path):
    cfg = envoy_h.load("gateway.yaml")
    envoy_h.set_plugin_config(cfg, filter_name, config)
    out = tmp_path / "bad.yaml"
    out.write_text(yaml.safe_dump(envoy_h.adapt(cfg, mock_port=None)))
    result = envoy_h.validate(out)
    log = result.stdout + result.stderr
    assert result.returncode != 0, "Envoy accepted an invalid plugin config"
    assert expected in log, log[-3000:]
    assert f"Unable to create Wasm plugin {filter_name}" in log


def test_gateway_refuses_to_start_on_invalid_config(mock):
    """Not only `--mode validate`: a real start fails loudly instead of serving unrouted."""
    cfg = envoy_h.load("gateway.yaml")
    envoy_h.set_plugin_config(cfg, "portcullis.router", '{"providers":{},"routes":[{"model":"a","provider":"b"}]}')
    with pytest.raises(RuntimeError) as exc:
        envoy_h.Envoy(envoy_h.adapt(cfg, mock.port), timeout=30)
    assert "invalid plugin config at `routes[0].provider`" in str(exc.value)
