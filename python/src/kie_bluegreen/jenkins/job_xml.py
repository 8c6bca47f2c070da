"""Pipeline job configuration (Jenkins `config.xml`) as data: render it, parse it back, compare.

Jenkins re-serialises every config.xml it stores (plugin versions, element order, extra
defaults such as `<triggers/>`), so comparing text would report a change on every run. We
compare the fields we manage instead: description, parameters, concurrency and the pipeline
definition. Values are escaped by ElementTree, never pasted into XML text by hand.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, fields

WORKFLOW_JOB_CLASS = "org.jenkinsci.plugins.workflow.job.WorkflowJob"
FOLDER_CLASS = "com.cloudbees.hudson.plugins.folder.Folder"

_ROOT = "flow-definition"
_PARAMETERS_PROPERTY = "hudson.model.ParametersDefinitionProperty"
_NO_CONCURRENT_PROPERTY = "org.jenkinsci.plugins.workflow.job.properties.DisableConcurrentBuildsJobProperty"
_BOOLEAN = "hudson.model.BooleanParameterDefinition"
_STRING = "hudson.model.StringParameterDefinition"
_INLINE = "org.jenkinsci.plugins.workflow.cps.CpsFlowDefinition"
_SCM = "org.jenkinsci.plugins.workflow.cps.CpsScmFlowDefinition"
_GIT = "hudson.plugins.git.GitSCM"

# XML 1.0 cannot carry these characters at all, not even escaped.
_NOT_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


@dataclass(frozen=True)
class Parameter:
    kind: str  # "boolean" or "string"
    name: str
    description: str
    default: str = ""  # "true"/"false" for a boolean
    trim: bool = False  # strings only: Jenkins strips blanks around the value


@dataclass(frozen=True)
class InlineScript:
    script: str
    sandbox: bool = True  # runs in the Groovy sandbox: no administrator approval needed


@dataclass(frozen=True)
class ScmScript:
    url: str
    branch: str
    script_path: str
    credentials_id: str = ""
    lightweight: bool = True  # fetch only the script, not the whole repository


@dataclass(frozen=True)
class JobSpec:
    description: str
    parameters: tuple[Parameter, ...]
    concurrent_builds: bool
    definition: InlineScript | ScmScript | None


class JobXmlError(ValueError):
    """The text is not the config.xml of a pipeline job."""


# ---------------------------------------------------------------------------------------------
# Rendering


def render(spec: JobSpec) -> str:
    """The config.xml of a pipeline job (XML 1.0, UTF-8)."""
    root = ET.Element(_ROOT)
    ET.SubElement(root, "actions")
    _text(root, "description", spec.description)
    _text(root, "keepDependencies", "false")
    properties = ET.SubElement(root, "properties")
    if not spec.concurrent_builds:
        no_concurrent = ET.SubElement(properties, _NO_CONCURRENT_PROPERTY)
        _text(no_concurrent, "abortPrevious", "false")  # queue the second build, never kill the first
    if spec.parameters:
        definitions = ET.SubElement(ET.SubElement(properties, _PARAMETERS_PROPERTY), "parameterDefinitions")
        for parameter in spec.parameters:
            _parameter(definitions, parameter)
    if spec.definition is not None:
        _definition(root, spec.definition)
    ET.SubElement(root, "triggers")
    _text(root, "disabled", "false")
    return _document(root)


def render_folder(description: str) -> str:
    """The config.xml of a plain folder (CloudBees Folders plugin)."""
    root = ET.Element(FOLDER_CLASS)
    ET.SubElement(root, "actions")
    _text(root, "description", description)
    for tag in ("properties", "folderViews", "healthMetrics"):
        ET.SubElement(root, tag)
    return _document(root)


def _document(root: ET.Element) -> str:
    ET.indent(root, space="  ")
    return "<?xml version='1.0' encoding='UTF-8'?>\n" + ET.tostring(root, encoding="unicode") + "\n"


def _parameter(parent: ET.Element, parameter: Parameter) -> None:
    tag = {"boolean": _BOOLEAN, "string": _STRING}.get(parameter.kind)
    if tag is None:
        raise ValueError(f"parameter {parameter.name}: unknown kind {parameter.kind!r}")
    element = ET.SubElement(parent, tag)
    _text(element, "name", parameter.name)
    _text(element, "description", parameter.description)
    _text(element, "defaultValue", parameter.default)
    if parameter.kind == "string":
        _text(element, "trim", _bool(parameter.trim))


def _definition(root: ET.Element, definition: InlineScript | ScmScript) -> None:
    if isinstance(definition, InlineScript):
        element = ET.SubElement(root, "definition", {"class": _INLINE})
        _text(element, "script", definition.script)
        _text(element, "sandbox", _bool(definition.sandbox))
        return
    element = ET.SubElement(root, "definition", {"class": _SCM})
    scm = ET.SubElement(element, "scm", {"class": _GIT})
    _text(scm, "configVersion", "2")
    remote = ET.SubElement(ET.SubElement(scm, "userRemoteConfigs"), "hudson.plugins.git.UserRemoteConfig")
    _text(remote, "url", definition.url)
    if definition.credentials_id:
        _text(remote, "credentialsId", definition.credentials_id)
    branch = ET.SubElement(ET.SubElement(scm, "branches"), "hudson.plugins.git.BranchSpec")
    _text(branch, "name", definition.branch)
    # No doGenerateSubmoduleConfigurations / submoduleCfg: the Git plugin ignores them since 4.6.0
    # (jenkinsci/git-plugin GitSCM#setDoGenerateSubmoduleConfigurations).
    ET.SubElement(scm, "extensions")
    _text(element, "scriptPath", definition.script_path)
    _text(element, "lightweight", _bool(definition.lightweight))


def _text(parent: ET.Element, tag: str, value: str) -> ET.Element:
    if _NOT_XML.search(value):
        raise ValueError(f"{tag}: contains a control character that XML cannot carry")
    element = ET.SubElement(parent, tag)
    # XML parsers turn CR LF into LF; normalise now so a round trip compares equal.
    element.text = value.replace("\r\n", "\n").replace("\r", "\n")
    return element


def _bool(value: bool) -> str:
    return "true" if value else "false"


# ---------------------------------------------------------------------------------------------
# Parsing


def parse(text: str) -> JobSpec:
    """The managed fields of a pipeline job's config.xml; JobXmlError if it is not one.

    Lenient about everything else: other properties, plugin attributes, element order.
    """
    try:
        # Jenkins declares version 1.1 on what it stores; the managed fields are plain 1.0.
        root = ET.fromstring(re.sub(r"^\s*<\?xml[^>]*\?>", "", text).strip())
    except ET.ParseError as exc:
        raise JobXmlError(f"not well-formed XML: {exc}") from None
    if root.tag != _ROOT:
        raise JobXmlError(f"not a pipeline job: the root element is <{root.tag}>, not <{_ROOT}>")
    properties = root.find("properties")
    properties = properties if properties is not None else ET.Element("properties")
    return JobSpec(
        description=_read(root, "description"),
        parameters=tuple(
            _read_parameter(element)
            for element in properties.findall(f"{_PARAMETERS_PROPERTY}/parameterDefinitions/*")
        ),
        concurrent_builds=properties.find(_NO_CONCURRENT_PROPERTY) is None,
        definition=_read_definition(root.find("definition")),
    )


def _read_parameter(element: ET.Element) -> Parameter:
    kind = {_BOOLEAN: "boolean", _STRING: "string"}.get(element.tag, element.tag)
    return Parameter(
        kind=kind,
        name=_read(element, "name"),
        description=_read(element, "description"),
        default=_read(element, "defaultValue"),
        trim=kind == "string" and _read(element, "trim") == "true",
    )


def _read_definition(element: ET.Element | None) -> InlineScript | ScmScript | None:
    if element is None:
        return None
    kind = element.get("class")
    if kind == _INLINE:
        return InlineScript(script=_read(element, "script"), sandbox=_read(element, "sandbox") == "true")
    if kind == _SCM:
        return ScmScript(
            url=_read(element, "scm/userRemoteConfigs/hudson.plugins.git.UserRemoteConfig/url"),
            branch=_read(element, "scm/branches/hudson.plugins.git.BranchSpec/name"),
            script_path=_read(element, "scriptPath"),
            credentials_id=_read(element, "scm/userRemoteConfigs/hudson.plugins.git.UserRemoteConfig/credentialsId"),
            lightweight=_read(element, "lightweight") == "true",
        )
    return None  # another kind of definition: differs from ours, so it is replaced


def _read(element: ET.Element, path: str) -> str:
    found = element.find(path)
    return (found.text or "") if found is not None else ""


# ---------------------------------------------------------------------------------------------
# Comparing

_FIELD_WORDS = {
    "description": "description",
    "parameters": "parameters",
    "concurrent_builds": "concurrent builds",
    "definition": "pipeline script",
}


def differences(current: JobSpec, desired: JobSpec) -> list[str]:
    """Names of the managed fields that differ, in a stable order; empty when in step."""
    desired = parse(render(desired))  # compare what Jenkins would read back (e.g. CR LF -> LF)
    changed = []
    for field in fields(JobSpec):
        if getattr(current, field.name) != getattr(desired, field.name):
            changed.append(_FIELD_WORDS[field.name])
    return changed
