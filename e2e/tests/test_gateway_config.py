"""The gateway config and its CLI (`portcullis`, cli/): the checked-in Envoy and Istio configs
are rendered from the example configs in examples/ and never stale, Envoy accepts every rendered
bootstrap, Istio's CRD schemas every rendered manifest, a mistake is reported with its field path
(by the filters' own config code), and a config of one's own runs through real Envoy with the
SDKs: translation, failover and tenants included."""
import json
import subprocess

import anthropic
import jsonschema
import openai
import pytest
import yaml
from compose_spec import PyCompose

from conftest import CLIENT_KEY, PROVIDER_KEYS
from harness import envoy as envoy_h
from harness import paths
from helpers import header
from test_istio import crd_schemas

CLI = paths.ROOT / "target" / "release" / "portcullis"
EXAMPLES = paths.ROOT / "examples"
# Example config → (render target, checked-in output: a file, or the directory for istio).
RENDERED = {
    "gateway.yaml": ("envoy", paths.CONFIGS / "gateway.yaml"),
    "gateway-failover.yaml": ("envoy", paths.CONFIGS / "gateway-failover.yaml"),
    "istio.yaml": ("istio", paths.ROOT / "istio"),
}


def cli(*args, check=False) -> subprocess.CompletedProcess:
    result = subprocess.run([str(CLI), *map(str, args)], cwd=paths.ROOT, capture_output=True, text=True, timeout=120)
    if check:
        assert result.returncode == 0, result.stderr
    return result


def write(tmp_path, text: str, name="gateway.yaml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_every_example_config_is_rendered_into_the_repository():
    # A new example must say where it is rendered (and `make configs` must render it).
    assert sorted(p.name for p in EXAMPLES.glob("*.yaml")) == sorted([*RENDERED, "quickstart.yaml"])
    makefile = (paths.ROOT / "Makefile").read_text()
    for example in RENDERED:
        assert f"examples/{example}" in makefile


@pytest.mark.parametrize("example", sorted(RENDERED))
def test_checked_in_configs_are_the_rendered_ones(example, tmp_path):
    target, checked_in = RENDERED[example]
    out = tmp_path / "out"
    cli("render", target, f"examples/{example}", "-o", out, check=True)
    if target == "istio":
        rendered = sorted(p.name for p in out.iterdir())
        assert rendered == sorted(p.name for p in checked_in.glob("*.yaml")), "istio/ has a file the example does not render"
        for name in rendered:
            assert (out / name).read_text() == (checked_in / name).read_text(), f"istio/{name} is stale: make configs"
    else:
        assert out.read_text() == checked_in.read_text(), f"{checked_in.name} is stale: make configs"


SCHEMA = paths.ROOT / "cli" / "gateway.schema.json"


def test_the_json_schema_is_current_and_every_example_follows_it():
    assert json.loads(SCHEMA.read_text()) == json.loads(cli("schema", check=True).stdout), "stale: make configs"
    schema = json.loads(SCHEMA.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    for example in EXAMPLES.glob("*.yaml"):
        text = example.read_text()
        assert text.startswith("# yaml-language-server: $schema=../cli/gateway.schema.json"), example.name
        jsonschema.Draft202012Validator(schema).validate(yaml.safe_load(text))


def test_schema_and_cli_agree(tmp_path):
    validator = jsonschema.Draft202012Validator(json.loads(SCHEMA.read_text()))
    # Every kind the schema offers is one the filters accept…
    kinds = validator.schema["properties"]["providers"]["additionalProperties"]["properties"]["kind"]["enum"]
    assert "openai" in kinds and "openai-compatible" in kinds
    for kind in kinds:
        config = {"providers": {"p": {"kind": kind, "keyEnv": "K", "endpoint": "https://llm.example.com",
                                      **({"project": "p", "location": "us-central1"} if kind == "vertex" else {})}}}
        validator.validate(config)
        assert cli("validate", write(tmp_path, yaml.safe_dump(config))).returncode == 0, kind
    # …and what one refuses, the other refuses too.
    for bad in [{"listenr": {}}, {"providers": {"p": {"kind": "openai", "keyEnv": "K", "kindd": 1}}},
                {"routes": [{"model": "x", "provider": "p", "fallback": []}]}, {"failover": {"perTryIdleTimeout": 60}}]:
        config = {"providers": {"p": {"kind": "openai", "keyEnv": "K"}}, **bad}
        if "kindd" in str(bad):
            config = bad
        assert not validator.is_valid(config), bad
        assert cli("validate", write(tmp_path, yaml.safe_dump(config))).returncode == 1, bad


@pytest.mark.parametrize("example", sorted([*RENDERED, "quickstart.yaml"]))
def test_validate_runs_the_filters_checks_and_envoy(example):
    result = cli("validate", f"examples/{example}", "--envoy", paths.ENVOY_BIN)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "valid gateway config" in result.stdout and "Envoy accepts the rendered bootstrap" in result.stdout


BASE = """
providers:
  openai: {kind: openai, keyEnv: OPENAI_API_KEY}
routes:
  - {model: "gpt-*", provider: openai}
"""


@pytest.mark.parametrize("change, path, message", [
    ("routes:\n  - {model: x, provider: opena1}", "routes[0].provider", "unknown provider `opena1`"),
    ("providers:\n  openai: {kind: openia, keyEnv: K}", "providers.openai.kind", "unknown variant `openia`"),
    ("providers:\n  openai: {kind: openai, keyEnv: K, endpoint: 'https://api.openai.com/v1'}",
     "providers.openai.endpoint", "basePath"),
    ("listenr: {port: 1}", "listenr", "unknown field"),
    ("listener: {port: 99999}", "listener.port", ""),
    ("prompt: {decorators: [{role: sistem, content: hi}]}", "prompt.decorators[0].role", "sistem"),
    ("usage: {budgets: 3}", "usage.budgets", ""),
    ("credentials: {requireTenant: true}", "credentials.requireTenant", "needs `tenants`"),
    ("routes:\n  - {model: r, provider: openai, fallbacks: [{provider: nobody}]}", "routes[0].fallbacks[0].provider", "nobody"),
], ids=lambda v: v if len(v) < 30 else None)
def test_a_mistake_is_reported_with_its_field_path(tmp_path, change, path, message):
    config = write(tmp_path, yaml.safe_dump({**yaml.safe_load(BASE), **yaml.safe_load(change)}))
    for command in (["validate", config], ["render", "envoy", config]):
        result = cli(*command)
        assert result.returncode == 1
        assert f"invalid gateway config at `{path}`" in result.stderr, result.stderr
        assert message in result.stderr
        assert result.stdout == "" or "valid" not in result.stdout


def test_a_key_pasted_where_its_variable_belongs_is_refused_and_not_echoed(tmp_path):
    secret = "sk-proj-abcdefghijklmnop0123456789"
    result = cli("validate", write(tmp_path, f"providers:\n  openai: {{kind: openai, keyEnv: '{secret}'}}"))
    assert result.returncode == 1 and "`providers.openai.keyEnv`" in result.stderr
    assert secret not in result.stderr + result.stdout


def test_istio_render_of_other_endpoints_passes_the_crds(tmp_path):
    config = write(tmp_path, """
istio: {namespace: llm, selector: {app: llm-gateway}}
providers:
  openai: {kind: openai, keyEnv: OPENAI_API_KEY}
  local: {kind: vllm, endpoint: 'http://vllm.models.svc.cluster.local:8000', keyEnv: VLLM_KEY}
  azure: {kind: azure, endpoint: 'https://my-resource.openai.azure.com', keyEnv: AZURE_KEY}
routes:
  - {model: "llama-*", provider: local, fallbacks: [{provider: openai, model: gpt-4o-mini}]}
  - {model: "gpt-*", provider: azure}
""")
    out = tmp_path / "istio"
    cli("render", "istio", config, "-o", out, check=True)
    resources = [r for p in sorted(out.glob("*.yaml")) for r in yaml.safe_load_all(p.read_text()) if r]
    for r in resources:
        schema = crd_schemas()[(r["apiVersion"], r["kind"])]
        jsonschema.validate(r["spec"], schema["properties"]["spec"])
        assert r["metadata"]["namespace"] == "llm"
    entries = {r["metadata"]["name"]: r["spec"] for r in resources if r["kind"] == "ServiceEntry"}
    assert entries["llm-providers-443"]["hosts"] == ["api.openai.com", "my-resource.openai.azure.com"]
    assert entries["llm-providers-8000"]["ports"][0]["protocol"] == "HTTP"
    rules = {r["spec"]["host"] for r in resources if r["kind"] == "DestinationRule"}
    assert rules == {"api.openai.com", "my-resource.openai.azure.com"}, "TLS origination only for https endpoints"
    (router,) = [r for r in resources if r["metadata"]["name"] == "portcullis-router"]
    plugin = json.loads(router["spec"]["configPatches"][0]["patch"]["value"]["typed_config"]["config"]["configuration"]["value"])
    assert plugin["providers"]["local"]["host"] == "vllm.models.svc.cluster.local", "the endpoint's host is the :authority"
    assert plugin["routes"][0]["failoverCluster"] == "failover-llama--"


def test_istio_needs_host_names(tmp_path):
    result = cli("render", "istio", write(tmp_path, BASE.replace("keyEnv: OPENAI_API_KEY}", "keyEnv: K, endpoint: 'http://10.0.0.1:80'}")))
    assert result.returncode == 1 and "`providers.openai.endpoint`" in result.stderr


def test_compose_render_follows_the_spec_and_runs_the_rendered_bootstrap(tmp_path):
    out = tmp_path / "compose.yaml"
    cli("render", "compose", "examples/gateway.yaml", "-o", out, check=True)
    text = out.read_text()
    PyCompose.from_yaml(text).validate()
    demo = yaml.safe_load(text)
    assert list(demo["services"]) == ["mock", "envoy", "prometheus"]
    envoy = demo["services"]["envoy"]
    assert envoy["environment"] == {v: f"${{{v}:-demo-key}}" for v in ["OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY"]}
    bootstrap = yaml.safe_load(demo["configs"]["envoy"]["content"].replace("$$", "$"))
    assert bootstrap["static_resources"]["listeners"][0]["address"]["socket_address"]["address"] == "0.0.0.0"
    for cluster in bootstrap["static_resources"]["clusters"]:
        assert [sa["address"] for sa in envoy_h.endpoints(cluster)] == ["mock"]
    # Envoy accepts it once the modules are where the container mounts them.
    module_dir = envoy["volumes"][0].split(":")[1]
    text = yaml.safe_dump(bootstrap).replace(module_dir, str(paths.WASM_DIR))
    result = envoy_h.validate(write(tmp_path, text, "bootstrap.yaml"))
    assert result.returncode == 0, result.stdout + result.stderr
    # A real provider's key must come from the environment: compose refuses to start without it.
    cli("render", "compose", "examples/quickstart.yaml", "-o", out, check=True)
    real = yaml.safe_load(out.read_text())
    assert "mock" not in real["services"]
    assert real["services"]["envoy"]["environment"]["OPENAI_API_KEY"] == "${OPENAI_API_KEY:?OPENAI_API_KEY is not set}"


OWN = """
listener: {address: 127.0.0.1, port: 10000}
providers:
  openai: {kind: openai, endpoint: 'http://127.0.0.1:18080', keyEnv: OPENAI_API_KEY}
  anthropic: {kind: anthropic, endpoint: 'http://127.0.0.1:18080', keyEnv: ANTHROPIC_API_KEY}
  local: {kind: vllm, host: vllm.internal, endpoint: 'http://127.0.0.1:18080', keyEnv: OPENAI_API_KEY}
routes:
  - {model: "gpt-*", provider: openai}
  - {model: "claude-*", provider: anthropic}
  - {model: "llama-3-8b", provider: local}
  - {model: steady, provider: openai, upstreamModel: gpt-4o-mini,
     fallbacks: [{provider: anthropic, model: claude-haiku-4-5}]}
credentials:
  tenants:
    - {id: team-a, keyHashes: ["sha256:%s"]}
failover: {perTryIdleTimeout: 2s}
"""


@pytest.fixture(scope="module")
def own_gateway(mock, tmp_path_factory):
    import hashlib
    config = tmp_path_factory.mktemp("own") / "gateway.yaml"
    config.write_text(OWN % hashlib.sha256(CLIENT_KEY.encode()).hexdigest())
    bootstrap = config.with_name("envoy.yaml")
    cli("render", "envoy", config, "-o", bootstrap, check=True)
    cfg = envoy_h.adapt(yaml.safe_load(bootstrap.read_text()), mock.port)
    with envoy_h.Envoy(cfg, env=PROVIDER_KEYS) as envoy:
        yield envoy


def test_own_config_serves_the_sdks_with_translation(own_gateway, mock):
    client = openai.OpenAI(base_url=own_gateway.url + "/v1", api_key=CLIENT_KEY, max_retries=0)
    resp = client.chat.completions.create(model="claude-haiku-4-5", messages=[{"role": "user", "content": "hi"}])
    assert resp.choices[0].message.content == "Mock reply from anthropic to: hi"
    (req,) = mock.requests()
    assert req["path"] == "/v1/messages" and header(req, "x-api-key") == PROVIDER_KEYS["ANTHROPIC_API_KEY"]
    mock.clear()
    resp = client.chat.completions.create(model="llama-3-8b", messages=[{"role": "user", "content": "local"}])
    (req,) = mock.requests()
    assert header(req, "host") == "vllm.internal" and req["json"]["model"] == "llama-3-8b"
    mock.clear()
    message = anthropic.Anthropic(base_url=own_gateway.url, api_key=CLIENT_KEY, max_retries=0).messages.create(
        model="gpt-4o", max_tokens=64, messages=[{"role": "user", "content": "the other way"}])
    assert message.content[0].text == "Mock reply from openai to: the other way"


def test_own_config_fails_over_and_requires_its_tenants_key(own_gateway, mock):
    client = openai.OpenAI(base_url=own_gateway.url + "/v1", api_key=CLIENT_KEY, max_retries=0)
    mock.add_rule(pathContains="/v1/chat/completions", status=429)
    raw = client.chat.completions.with_raw_response.create(model="steady", messages=[{"role": "user", "content": "x"}])
    assert raw.parse().choices[0].message.content == "Mock reply from anthropic to: x"
    assert raw.headers["x-portcullis-attempts"] == "2"
    mock.clear_rules()
    mock.clear()
    stranger = openai.OpenAI(base_url=own_gateway.url + "/v1", api_key="sk-not-a-tenant", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        stranger.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "x"}])
    assert mock.requests() == []


def test_flags_override_ports_and_module_paths(tmp_path):
    out = tmp_path / "envoy.yaml"
    cli("render", "envoy", "examples/gateway.yaml", "-o", out, "--port", 12345, "--admin-port", 12346,
        "--modules", "/opt/portcullis", check=True)
    cfg = yaml.safe_load(out.read_text())
    assert cfg["static_resources"]["listeners"][0]["address"]["socket_address"]["port_value"] == 12345
    assert cfg["admin"]["address"]["socket_address"]["port_value"] == 12346
    files = [f["typed_config"]["config"]["vm_config"]["code"]["local"]["filename"] for f in envoy_h.http_filters(cfg)
             if f["typed_config"].get("@type") == envoy_h.WASM_FILTER_TYPE]
    assert files == [f"/opt/portcullis/portcullis_{n}.wasm" for n in ("router", "credentials", "prompt", "usage")]


def test_the_istio_credentials_plugin_says_how_to_provide_its_keys():
    text = (paths.ROOT / "istio" / "portcullis-credentials.wasmplugin.yaml").read_text()
    for var in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY"):
        assert f"--from-literal={var}=…" in text
    assert "set env deployment/istio-ingressgateway --from=secret/portcullis-provider-keys" in text


def test_make_run_serves_a_gateway_config(tmp_path):
    """`make run CONFIG=<gateway config>` (e2e/run.py): rendered by the CLI, run with the mock
    behind the providers that point at it, answering an SDK; Ctrl-C stops everything."""
    import os
    import signal
    import time

    from harness import process

    port, admin = process.free_port(), process.free_port()
    env = {**os.environ, "PORTCULLIS_PORT": str(port), "PORTCULLIS_ADMIN_PORT": str(admin)}
    for var in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY"):
        env.pop(var, None)  # the mock, not the real providers
    log = tmp_path / "run.log"
    with log.open("w") as out:
        proc = subprocess.Popen([str(paths.VENV_BIN / "python"), "e2e/run.py", "examples/gateway.yaml"], cwd=paths.ROOT,
                                env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while "Ctrl-C to stop" not in log.read_text():
            assert proc.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        assert "openai     → mock provider" in log.read_text()
        client = openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="any-key", max_retries=0)
        resp = client.chat.completions.create(model="claude-haiku-4-5", messages=[{"role": "user", "content": "run"}])
        assert resp.choices[0].message.content == "Mock reply from anthropic to: run"
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        assert proc.wait(timeout=30) == 0, log.read_text()
    assert log.read_text().rstrip().endswith("stopped")


def test_istio_render_of_bedrock_signs_on_a_cluster_of_its_own(tmp_path):
    config = write(tmp_path, """
providers:
  bedrock: {kind: bedrock, region: eu-west-3, aws: {}}
  openai: {kind: openai, keyEnv: OPENAI_API_KEY}
routes:
  - {model: claude, provider: bedrock, upstreamModel: 'anthropic.claude-3-5-haiku-20241022-v1:0'}
  - {model: 'gpt-*', provider: openai}
""")
    out = tmp_path / "istio"
    cli("render", "istio", config, "-o", out, check=True)
    resources = [r for p in sorted(out.glob("*.yaml")) for r in yaml.safe_load_all(p.read_text()) if r]
    for r in resources:
        jsonschema.validate(r["spec"], crd_schemas()[(r["apiVersion"], r["kind"])]["properties"]["spec"])
    (signing,) = [r for r in resources if r["metadata"]["name"] == "portcullis-signing"]
    add, merge = signing["spec"]["configPatches"]
    cluster = add["patch"]["value"]
    assert cluster["name"] == "portcullis-bedrock"
    assert cluster["transport_socket"]["typed_config"]["sni"] == "bedrock-runtime.eu-west-3.amazonaws.com"
    filters = cluster["typed_extension_protocol_options"]["envoy.extensions.upstreams.http.v3.HttpProtocolOptions"]["http_filters"]
    assert [f["name"] for f in filters] == ["portcullis.router.upstream", "portcullis.credentials.upstream",
                                           "envoy.filters.http.upstream_codec"]
    creds = filters[1]["typed_config"]["config"]
    assert creds["root_id"] == "portcullis.credentials" and creds["allow_on_headers_stop_iteration"] is True
    assert creds["vm_config"]["code"]["local"]["filename"] == "/var/lib/portcullis/portcullis_credentials.wasm"
    assert merge["match"]["routeConfiguration"]["vhost"]["route"]["name"] == "bedrock"
    assert merge["patch"]["value"] == {"route": {"cluster": "portcullis-bedrock"}}
    (plugin,) = [r for r in resources if r["metadata"]["name"] == "portcullis-credentials"]
    assert {"name": "AWS_SECRET_ACCESS_KEY", "valueFrom": "HOST"} in plugin["spec"]["vmConfig"]["env"]
