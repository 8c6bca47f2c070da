"""Job config.xml: what the runner renders holds the parameters and the script, survives XML
escaping, and parses back to the same spec, also after Jenkins re-serialised it."""

import xml.etree.ElementTree as ET

import pytest

from kie_bluegreen.jenkins.job_xml import (
    InlineScript,
    JobSpec,
    JobXmlError,
    Parameter,
    ScmScript,
    differences,
    parse,
    render,
    render_folder,
)

PARAMS = "properties/hudson.model.ParametersDefinitionProperty/parameterDefinitions"


def make_spec(**overrides) -> JobSpec:
    values = dict(
        description="Promotes orders in production.",
        parameters=(
            Parameter("boolean", "CONFIRM", "Tick to confirm", default="false"),
            Parameter("string", "REASON", "Why", trim=True),
        ),
        concurrent_builds=False,
        definition=InlineScript("@Library('kie-bluegreen') _\nkiePromote(stage: 'production')\n"),
    )
    values.update(overrides)
    return JobSpec(**values)


def test_rendered_xml_has_the_parameter_definitions_concurrency_and_script():
    root = ET.fromstring(render(make_spec()))

    assert root.tag == "flow-definition"
    confirm = root.find(f"{PARAMS}/hudson.model.BooleanParameterDefinition")
    assert (confirm.findtext("name"), confirm.findtext("defaultValue")) == ("CONFIRM", "false")
    reason = root.find(f"{PARAMS}/hudson.model.StringParameterDefinition")
    assert (reason.findtext("name"), reason.findtext("trim")) == ("REASON", "true")
    assert (
        root.find("properties/org.jenkinsci.plugins.workflow.job.properties.DisableConcurrentBuildsJobProperty")
        is not None
    )
    definition = root.find("definition")
    assert definition.get("class") == "org.jenkinsci.plugins.workflow.cps.CpsFlowDefinition"
    assert definition.findtext("script") == "@Library('kie-bluegreen') _\nkiePromote(stage: 'production')\n"
    assert definition.findtext("sandbox") == "true"


def test_markup_in_values_is_escaped_and_comes_back_unchanged():
    tricky = "a < b && c > d \"quoted\" 'single' ]]> <script>alert(1)</script>"
    spec = make_spec(description=tricky, definition=InlineScript(f"echo '{tricky}'\n"))

    text = render(spec)

    assert "<script>alert" not in text
    assert parse(text) == spec


def test_scm_definition_round_trips():
    spec = make_spec(
        definition=ScmScript(
            "https://git.example.com/ops/deploy.git",
            "*/main",
            "jenkins/production-promote.groovy",
            credentials_id="git-ro",
        )
    )
    root = ET.fromstring(render(spec))

    assert root.find("definition").get("class") == "org.jenkinsci.plugins.workflow.cps.CpsScmFlowDefinition"
    assert root.findtext("definition/scriptPath") == "jenkins/production-promote.groovy"
    # fields the Git plugin no longer reads (removed in git 4.6.0) are not written
    assert root.find("definition/scm/doGenerateSubmoduleConfigurations") is None
    assert root.find("definition/scm/submoduleCfg") is None
    assert parse(render(spec)) == spec


def test_jenkins_reserialised_config_compares_equal():
    # What Jenkins stores: XML 1.1 declaration, plugin attributes, other properties and defaults.
    spec = make_spec()
    stored = render(spec).replace("<?xml version='1.0' encoding='UTF-8'?>", "<?xml version='1.1' encoding='UTF-8'?>")
    stored = stored.replace("<flow-definition>", '<flow-definition plugin="workflow-job@1400.v7fd111b_ec82f">')
    stored = stored.replace(
        "<properties>",
        "<properties>\n<jenkins.model.BuildDiscarderProperty><strategy/></jenkins.model.BuildDiscarderProperty>",
    )

    assert parse(stored) == spec
    assert differences(parse(stored), spec) == []


def test_differences_name_the_changed_fields():
    current = make_spec()
    desired = make_spec(description="new", concurrent_builds=True)

    assert differences(current, desired) == ["description", "concurrent builds"]
    assert differences(current, make_spec(definition=InlineScript("other"))) == ["pipeline script"]
    assert differences(current, make_spec(parameters=current.parameters[:1])) == ["parameters"]


def test_a_freestyle_job_is_not_parsed_as_a_pipeline():
    with pytest.raises(JobXmlError, match="root element is <project>"):
        parse("<?xml version='1.0'?><project><builders/></project>")


def test_broken_xml_is_a_clear_error():
    with pytest.raises(JobXmlError, match="not well-formed"):
        parse("<flow-definition><description>")


def test_a_control_character_is_refused_rather_than_written_as_invalid_xml():
    with pytest.raises(ValueError, match="control character"):
        render(make_spec(description="bell \x07"))


def test_carriage_returns_are_normalised_so_a_round_trip_is_stable():
    spec = make_spec(definition=InlineScript("line1\r\nline2\r\n"))

    assert parse(render(spec)).definition == InlineScript("line1\nline2\n")


def test_folder_xml():
    root = ET.fromstring(render_folder("Jobs & more"))

    assert root.tag == "com.cloudbees.hudson.plugins.folder.Folder"
    assert root.findtext("description") == "Jobs & more"


def test_a_spec_with_carriage_returns_is_in_step_with_what_jenkins_reads_back():
    spec = make_spec(definition=InlineScript("line1\r\nline2\r\n"))

    assert differences(parse(render(spec)), spec) == []
