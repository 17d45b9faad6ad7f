"""The suite layout: the four filters from one module (portcullis_suite.wasm), one VM per worker.

Each filter stays its own plugin (own config, place in the chain, failure policy); its `root_id`
picks its role inside the module, and one `vm_id` with one `vm_config` makes Envoy share one VM
per worker across them. The whole e2e suite also runs in this layout with
`make test-e2e LAYOUT=suite`; here, what differs: the VM count, every role in the shared VM, and
what a misconfigured layout gets.
"""
import copy
import time

import anthropic
import openai
import pytest
import yaml

import suite_config
from conftest import CLIENT_KEY, PROVIDER_KEYS
from harness import envoy as envoy_h
from harness import istio, paths
from helpers import chat_status, envoy_stat, header, metric_value, only_request

# The suite plus a `portcullis.trap` role that panics on `x-trap-vm` (e2e/wasm/suite-trap).
TRAP_SUITE = paths.ROOT / "target" / "suite-trap" / "wasm32-wasip1" / "release" / "suite_trap.wasm"
CARD = "4111 1111 1111 1111"
PROMPT = {"policies": {"cards": {"guards": {"request": [{"detector": "credit_card", "action": "mask"}]}}},
          "defaultPolicy": "cards"}


def gateway_config(mock_port: int, layout: str) -> dict:
    """The shipped gateway in either layout (gateway-suite.yaml is the suite one), with a guard."""
    cfg = envoy_h.load("gateway-suite.yaml" if layout == "suite" else "gateway.yaml")
    envoy_h.set_plugin_config(cfg, "portcullis.prompt", PROMPT)
    return envoy_h.adapt(cfg, mock_port, suite=False)


def test_gateway_suite_yaml_is_gateway_yaml_in_the_suite_layout_and_current():
    assert suite_config.OUT.read_text() == suite_config.render(envoy_h.load("gateway.yaml")), \
        "stale: run `.venv/bin/python e2e/suite_config.py`"
    filters = [f["typed_config"]["config"] for f in envoy_h.http_filters(envoy_h.load("gateway-suite.yaml"))
               if f["typed_config"].get("@type") == envoy_h.WASM_FILTER_TYPE]
    assert [f["root_id"] for f in filters] == ["portcullis.router", "portcullis.credentials",
                                               "portcullis.prompt", "portcullis.usage"]
    assert all(f["vm_config"] == filters[0]["vm_config"] for f in filters), "one vm_config, or no sharing"
    assert filters[0]["vm_config"]["code"]["local"]["filename"].endswith("portcullis_suite.wasm")


@pytest.fixture(scope="module")
def suite(mock):
    with envoy_h.Envoy(gateway_config(mock.port, "suite"), env=PROVIDER_KEYS, concurrency=2) as envoy:
        yield envoy


def test_the_suite_shares_one_vm_per_worker_across_the_four_filters(suite, mock):
    # Envoy keeps a VM per plugin per thread (workers and main) plus the plugin's base VM.
    with envoy_h.Envoy(gateway_config(mock.port, "separate"), env=PROVIDER_KEYS, concurrency=2) as separate:
        separate_vms = envoy_stat(separate, "wasm.envoy.wasm.runtime.v8.active")
    suite_vms = envoy_stat(suite, "wasm.envoy.wasm.runtime.v8.active")
    assert separate_vms == 4 * suite_vms, (separate_vms, suite_vms)
    assert suite_vms <= 4  # one base VM, the main thread's, one per worker (--concurrency 2)


def test_every_role_runs_in_the_shared_vm(suite, mock):
    labels = {"gen_ai_provider_name": "openai", "gen_ai_request_model": "gpt-4.1-nano", "gen_ai_token_type": "output"}
    before = metric_value(suite, "portcullis_tokens_total", labels)
    client = openai.OpenAI(base_url=suite.url + "/v1", api_key=CLIENT_KEY, max_retries=0)
    resp = client.chat.completions.create(model="gpt-4.1-nano",
                                          messages=[{"role": "user", "content": f"card {CARD}"}])
    req = only_request(mock)
    # router: routed by model; credentials: the gateway's key, not the client's; prompt: masked.
    assert req["path"] == "/v1/chat/completions" and req["json"]["model"] == "gpt-4.1-nano"
    assert header(req, "authorization") == "Bearer " + PROVIDER_KEYS["OPENAI_API_KEY"]
    assert req["json"]["messages"][0]["content"] == "card [CARD]"
    # usage: counted.
    assert metric_value(suite, "portcullis_tokens_total", labels) - before == resp.usage.completion_tokens


def test_a_translated_stream_through_the_suite(suite, mock):
    mock.add_rule(reply="streamed through one VM", chunks=6)
    with anthropic.Anthropic(base_url=suite.url, api_key=CLIENT_KEY, max_retries=0).messages.stream(
            model="gpt-4o-mini", max_tokens=32, messages=[{"role": "user", "content": "hi"}]) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text == "streamed through one VM"
    assert final.usage.output_tokens > 0
    assert only_request(mock)["path"] == "/v1/chat/completions", "Anthropic Messages in, OpenAI chat upstream"


def test_a_root_id_that_names_no_role_is_refused_at_load(tmp_path):
    cfg = envoy_h.suite_layout(envoy_h.load("gateway.yaml"))
    envoy_h.wasm_config(cfg, "portcullis.usage")["root_id"] = "portcullis.usagee"
    out = tmp_path / "suite.yaml"
    out.write_text(yaml.safe_dump(envoy_h.adapt(cfg, mock_port=None, suite=False)))
    result = envoy_h.validate(out)
    log = result.stdout + result.stderr
    assert result.returncode != 0, "Envoy accepted a plugin no role answers to"
    assert ("config `root_id`: `portcullis.usagee` is not a role of this module (one of: portcullis.router, "
            "portcullis.credentials, portcullis.prompt, portcullis.usage)") in log, log[-3000:]


def istio_suite_resources() -> list[dict]:
    """The shipped istio/ resources pointed at the suite image, with one environment for all:
    Istio sets no `vm_id`, so Envoy shares a VM between plugins whose code and `vm_config`
    (environment included) are the same."""
    env = [{"name": k, "valueFrom": "HOST"} for k in PROVIDER_KEYS]
    resources = istio.resources()
    for res in resources:
        if res["kind"] == "WasmPlugin":
            res["spec"]["url"] = "oci://ghcr.io/portcullis/suite:0.1.0"
            res["spec"]["vmConfig"] = {"env": env}
        elif res["kind"] == "EnvoyFilter":
            for patch in res["spec"]["configPatches"]:
                vm = patch["patch"]["value"].get("typed_config", {}).get("config", {}).get("vm_config")
                if vm:
                    vm["code"]["remote"]["http_uri"]["uri"] = "oci://ghcr.io/portcullis/suite:0.1.0"
                    vm["environment_variables"] = {"host_env_keys": list(PROVIDER_KEYS)}
                # Failover's upstream filters (on a cluster): the mounted suite module.
                options = patch["patch"]["value"].get("typed_extension_protocol_options", {}).values()
                for f in (f for o in options for f in o.get("http_filters", [])):
                    vm = f["typed_config"].get("config", {}).get("vm_config")
                    if vm:
                        vm["code"] = {"local": {"filename": istio.MOUNTED_WASM + "portcullis_suite.wasm"}}
                        vm["environment_variables"] = {"host_env_keys": list(PROVIDER_KEYS)}
    return resources


def test_istio_resources_on_the_suite_image_share_one_vm(mock):
    cfg = istio.bootstrap(istio_suite_resources())
    assert all("vm_id" not in f["typed_config"]["config"]["vm_config"] for f in envoy_h.http_filters(cfg)
               if f["typed_config"].get("@type") == envoy_h.WASM_FILTER_TYPE)
    with envoy_h.Envoy(envoy_h.adapt(cfg, mock.port, suite=False), env=PROVIDER_KEYS, concurrency=2) as envoy:
        assert envoy_stat(envoy, "wasm.envoy.wasm.runtime.v8.active") <= 4
        client = openai.OpenAI(base_url=envoy.url + "/v1", api_key=CLIENT_KEY, max_retries=0)
        client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "via istio"}])
        assert header(only_request(mock), "authorization") == "Bearer " + PROVIDER_KEYS["OPENAI_API_KEY"]


def test_one_roles_trap_takes_every_role_of_its_vm_down_until_fail_reload_replaces_it(mock):
    """The price of sharing: a trap in any role is a trap of the VM all four run in. Each plugin's
    failure policy then applies to itself; with FAIL_RELOAD on all (as shipped) they fail closed
    for the backoff and come back together on one new VM."""
    assert TRAP_SUITE.exists(), "built by `make test` (e2e/wasm/suite-trap)"
    cfg = envoy_h.suite_layout(envoy_h.load("gateway.yaml"))
    hcm = cfg["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]["typed_config"]
    trap = copy.deepcopy(next(f for f in hcm["http_filters"] if f["name"] == "portcullis.usage"))
    trap["name"] = "portcullis.trap"
    trap["typed_config"]["config"].update(name="portcullis.trap", root_id="portcullis.trap")
    hcm["http_filters"].insert(0, trap)
    for f in envoy_h.http_filters(cfg):
        vm = f.get("typed_config", {}).get("config", {}).get("vm_config")
        if vm:
            vm["code"] = {"local": {"filename": str(TRAP_SUITE)}}
    with envoy_h.Envoy(envoy_h.adapt(cfg, mock.port, suite=False), env=PROVIDER_KEYS, concurrency=1) as envoy:
        vms = envoy_stat(envoy, "wasm.envoy.wasm.runtime.v8.active")
        assert chat_status(envoy.url) == 200
        assert chat_status(envoy.url, trap=True) == 503
        assert [chat_status(envoy.url) for _ in range(3)] == [503] * 3, "the whole chain is down, not one role"
        time.sleep(2.5)  # past the reload backoff (1 s)
        assert [chat_status(envoy.url) for _ in range(10)] == [200] * 10
        for role in ("trap", "router", "credentials", "prompt", "usage"):
            assert envoy_stat(envoy, f"wasm.portcullis.{role}.vm_reload_success") == 1, role
        assert envoy_stat(envoy, "wasm.envoy.wasm.runtime.v8.active") == vms, "still one VM, replaced"
        assert "trap requested" in envoy.log_text()
