"""Names, prefixes and limits are defined once, in config/pipeline.json."""

import re

import hcl
from conftest import MODULES, TERRAFORM, tf_files

DOC_ATTRIBUTES = {"description", "error_message"}


def _strings(value, key=None):
    """Every string in a parsed tree, except documentation attributes."""
    if key in DOC_ATTRIBUTES:
        return
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _strings(v, k)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _literals(pipeline):
    """Values that must only ever come from the config, never be typed into .tf files."""
    config = pipeline.raw
    values = set(config["prefixes"].values())
    values |= {name for key, name in pipeline.names.items() if "{prefix}" in config["names"][key]}
    values |= set(config["lambda_env"].values())
    values |= {config["firehose"]["events_prefix_template"], config["firehose"]["error_output_prefix_template"]}
    values |= set(pipeline.snowflake.values())
    return values


def test_no_config_value_is_hard_coded(parsed, pipeline):
    forbidden = _literals(pipeline)
    offenders = []
    for path, tree in parsed.items():
        for text in _strings(tree):
            for value in forbidden:
                # Whole-word match, so EVENTS does not flag EVENTS_DEDUP's reference name etc.
                if re.search(rf"(?<![\w.]){re.escape(value)}(?![\w])", text):
                    offenders.append(f"{path.relative_to(TERRAFORM)}: {value!r} in {text!r}")
    assert not offenders, offenders


def test_prefix_literals_absent_from_tf_sources(config):
    # Belt and braces over the parsed check: not even in an expression.
    for path in tf_files():
        code = "\n".join(line.split("#", 1)[0] for line in path.read_text().splitlines())
        for prefix in config["prefixes"].values():
            assert f'"{prefix}' not in code, f"{path.name} hard-codes {prefix}"


def test_root_reads_the_config_file(merged):
    root_locals = hcl.locals_of(merged(TERRAFORM))
    assert hcl.compact(root_locals["config"]) == '${jsondecode(file("${path.module}/../config/pipeline.json"))}'
    assert (TERRAFORM / "../config/pipeline.json").resolve().is_file()
    assert hcl.compact(root_locals["prefixes"]) == "${local.config.prefixes}"
    assert "local.config.names" in hcl.compact(root_locals["names"])


def test_every_configured_name_and_prefix_is_used(config):
    code = "\n".join(path.read_text() for path in TERRAFORM.glob("*.tf"))
    unused = [f"names.{k}" for k in config["names"] if f"local.names.{k}" not in code]
    unused += [f"prefixes.{k}" for k in config["prefixes"] if f"local.prefixes.{k}" not in code]
    assert not unused, unused


def test_firehose_prefixes_are_the_config_templates(merged):
    # The delivery mode's settings (local.delivery, checked in test_delivery_modes.py), else the
    # firehose block's.
    call = dict(hcl.blocks(merged(TERRAFORM), "module"))["delivery"]
    assert call["prefix"] == "${local.delivery.events_prefix}"
    assert call["error_output_prefix"] == "${local.config.firehose.error_output_prefix_template}"
    assert call["buffering_size_mib"] == "${local.delivery.buffering_size_mib}"
    assert call["buffering_interval_seconds"] == "${local.delivery.buffering_interval_seconds}"
    delivery = hcl.compact(hcl.locals_of(merged(TERRAFORM))["delivery"])
    for path in [
        "local.config.firehose.events_prefix_template",
        "local.config.firehose.buffer_size_mib",
        "local.config.firehose.buffer_interval_seconds",
        "local.config.firehose.processor_buffer_interval_seconds",
        "local.config.firehose.processor_buffer_size_mib",
    ]:
        assert path in delivery, path


def test_firehose_buffering_defaults_meet_dynamic_partitioning_rules(config):
    firehose = config["firehose"]
    assert firehose["buffer_size_mib"] >= 64, "dynamic partitioning needs a 64 MiB buffer"
    assert 60 <= firehose["buffer_interval_seconds"] <= 900
    assert 0.2 <= firehose["processor_buffer_size_mib"] <= 3


def test_validator_environment_names_come_from_config(merged, config):
    root_locals = hcl.locals_of(merged(TERRAFORM))
    environment = hcl.compact(root_locals["validator_environment"])
    assert environment == "${{forkey,env_nameinlocal.config.lambda_env:env_name=>tostring(local.validator_settings[key])}}"
    settings = hcl.compact(root_locals["validator_settings"])
    assert settings.startswith("${merge(local.config.limits,{")
    provided = set(config["limits"]) | set(re.findall(r'[{,]"?(\w+)"?[:=]', settings))
    missing = set(config["lambda_env"]) - provided
    assert not missing, f"lambda_env keys without a value: {missing}"
    assert '"/var/task/schemas"' in settings
    api = dict(hcl.blocks(merged(TERRAFORM), "module"))["api"]
    assert api["validator_environment"] == "${local.validator_environment}"


def test_snowflake_names_object_matches_config(merged, config):
    variables = dict(hcl.blocks(merged(MODULES / "snowflake"), "variable"))
    declared = set(re.findall(r'"?(\w+)"?[:=]"?(?:\$\{)?string', hcl.compact(variables["names"]["type"])))
    assert declared == set(config["snowflake"]), declared ^ set(config["snowflake"])
    call = dict(hcl.blocks(merged(TERRAFORM), "module"))["snowflake"]
    assert call["names"] == "${local.snowflake_names}"
    assert "local.config.snowflake" in hcl.compact(hcl.locals_of(merged(TERRAFORM))["snowflake_names"])


def test_lambda_and_api_defaults_come_from_config(merged):
    code = hcl.compact(hcl.locals_of(merged(TERRAFORM)))
    for path in [
        "local.config.lambda.validator.memory_mb",
        "local.config.lambda.validator.timeout_seconds",
        "local.config.lambda.transformer.memory_mb",
        "local.config.lambda.transformer.timeout_seconds",
        "local.config.api_usage_plan.rate_limit",
        "local.config.api_usage_plan.burst_limit",
        "local.config.api_usage_plan.quota_limit",
        "local.config.api_usage_plan.quota_period",
    ]:
        assert path in code, path


def test_validator_timeout_leaves_room_for_the_put_deadline(config):
    timeout_ms = config["lambda"]["validator"]["timeout_seconds"] * 1000
    assert config["limits"]["put_deadline_ms"] < timeout_ms <= 29_000
