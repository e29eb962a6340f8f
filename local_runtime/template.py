"""Read ``template.yaml`` the way CloudFormation would, for running it locally.

Resolves parameters (defaults plus overrides), pseudo parameters, conditions and the
intrinsic functions the template uses (Ref, Fn::Sub, Fn::GetAtt, Fn::If, Fn::Join,
Fn::Select, Fn::Equals, Fn::Not, Fn::And, Fn::Or), and merges SAM ``Globals`` into each
function. Nothing here restates what the template says.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parent.parent
TEMPLATE_PATH = REPO_ROOT / "template.yaml"
ACCOUNT_ID = "123456789012"

_SHORT_FORMS = {
    "Ref": "Ref",
    "Condition": "Condition",
    **{
        name: f"Fn::{name}"
        for name in (
            "Sub",
            "GetAtt",
            "If",
            "Join",
            "Select",
            "Split",
            "Equals",
            "Not",
            "And",
            "Or",
            "FindInMap",
            "Base64",
            "GetAZs",
            "ImportValue",
            "Cidr",
            "ToJsonString",
            "Length",
        )
    },
}


class _TemplateLoader(yaml.SafeLoader):
    """A YAML loader that turns CloudFormation short forms (``!Ref X``) into long forms."""


def _construct_intrinsic(loader: yaml.SafeLoader, tag_suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = _SHORT_FORMS.get(tag_suffix)
    if name is None:
        raise yaml.constructor.ConstructorError(None, None, f"unknown tag !{tag_suffix}", node.start_mark)
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
        if name == "Fn::GetAtt":
            value = str(value).split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return {name: value}


_TemplateLoader.add_multi_constructor("!", _construct_intrinsic)
# What ``Ref AWS::NoValue`` resolves to: the list item or property holding it is removed.
NO_VALUE = object()


def load_template_document(path: Path = TEMPLATE_PATH) -> dict[str, Any]:
    """The template as plain data, with intrinsic functions in their long form."""
    with path.open(encoding="utf-8") as stream:
        document = yaml.load(stream, Loader=_TemplateLoader)  # noqa: S506 - SafeLoader subclass
    if not isinstance(document, dict):
        raise ValueError(f"{path} is not a template")
    return document


_ARN_SERVICES = {
    "AWS::SNS::Topic": ("sns", "{name}"),
    "AWS::SQS::Queue": ("sqs", "{name}"),
    "AWS::DynamoDB::Table": ("dynamodb", "table/{name}"),
    "AWS::S3::Bucket": ("s3", "{name}"),
    "AWS::Serverless::StateMachine": ("states", "stateMachine:{name}"),
    "AWS::StepFunctions::StateMachine": ("states", "stateMachine:{name}"),
    "AWS::Serverless::Function": ("lambda", "function:{name}"),
    "AWS::Lambda::Function": ("lambda", "function:{name}"),
    "AWS::KMS::Key": ("kms", "key/{name}"),
    "AWS::Logs::LogGroup": ("logs", "log-group:{name}"),
    "AWS::SecretsManager::Secret": ("secretsmanager", "secret:{name}"),
}


@dataclass
class Template:
    """A template with its parameters bound, ready to resolve values locally.

    ``physical_names`` overrides what ``Ref`` of a resource returns (e.g. a table name or a
    topic ARN the local runtime created); otherwise resources are named
    ``{stack}-{LogicalId}``. S3 buckets are lower-cased, as S3 requires.
    """

    document: dict[str, Any]
    stack_name: str = "restorable"
    region: str = "us-east-1"
    account_id: str = ACCOUNT_ID
    parameter_overrides: Mapping[str, str] = field(default_factory=dict)
    physical_names: dict[str, str] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path = TEMPLATE_PATH, **kwargs: Any) -> Template:
        return cls(document=load_template_document(path), **kwargs)

    def __post_init__(self) -> None:
        declared = self.document.get("Parameters", {})
        unknown = set(self.parameter_overrides) - set(declared)
        if unknown:
            raise KeyError(f"unknown template parameter(s): {', '.join(sorted(unknown))}")
        self.parameters: dict[str, Any] = {}
        for name, spec in declared.items():
            if name in self.parameter_overrides:
                self.parameters[name] = self.parameter_overrides[name]
            elif "Default" in spec:
                self.parameters[name] = spec["Default"]
            else:
                raise KeyError(f"template parameter {name} has no default and no override")
        self.conditions: dict[str, bool] = {}
        for name, expression in self.document.get("Conditions", {}).items():
            self.conditions[name] = bool(self.resolve(expression))

    @property
    def resources(self) -> dict[str, Any]:
        return dict(self.document.get("Resources", {}))

    def resource_type(self, logical_id: str) -> str:
        return str(self.resources[logical_id]["Type"])

    def physical_name(self, logical_id: str) -> str:
        if logical_id in self.physical_names:
            return self.physical_names[logical_id]
        name = f"{self.stack_name}-{logical_id}"
        if self.resource_type(logical_id) == "AWS::S3::Bucket":
            name = name.lower()
        return name

    def arn(self, logical_id: str) -> str:
        value = self.physical_name(logical_id)
        if value.startswith("arn:"):
            return value
        service, resource = _ARN_SERVICES.get(self.resource_type(logical_id), ("cloudformation", "{name}"))
        if service == "s3":
            return f"arn:aws:s3:::{value}"
        if service == "sqs" or service == "sns":
            return f"arn:aws:{service}:{self.region}:{self.account_id}:{value}"
        return f"arn:aws:{service}:{self.region}:{self.account_id}:{resource.format(name=value)}"

    def pseudo(self, name: str) -> str:
        values = {
            "AWS::StackName": self.stack_name,
            "AWS::Region": self.region,
            "AWS::AccountId": self.account_id,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::StackId": f"arn:aws:cloudformation:{self.region}:{self.account_id}:stack/{self.stack_name}/local",
        }
        if name not in values:
            raise KeyError(f"unsupported pseudo parameter {name}")
        return values[name]

    def ref(self, name: str) -> Any:
        if name == "AWS::NoValue":
            return NO_VALUE
        if name.startswith("AWS::"):
            return self.pseudo(name)
        if name in self.parameters:
            return self.parameters[name]
        if name in self.resources:
            kind = self.resource_type(name)
            if kind in ("AWS::SNS::Topic", "AWS::Serverless::StateMachine", "AWS::StepFunctions::StateMachine"):
                return self.arn(name)
            if kind == "AWS::SQS::Queue":
                return f"https://sqs.{self.region}.amazonaws.com/{self.account_id}/{self.physical_name(name)}"
            return self.physical_name(name)
        raise KeyError(f"Ref to unknown name {name}")

    def get_att(self, logical_id: str, attribute: str) -> str:
        if logical_id not in self.resources:
            raise KeyError(f"GetAtt of unknown resource {logical_id}")
        if attribute in ("Arn", "TopicArn"):
            return self.arn(logical_id)
        if attribute in ("Name", "QueueName", "TopicName"):
            return self.physical_name(logical_id)
        if attribute == "QueueUrl":
            return str(self.ref(logical_id))
        raise KeyError(f"unsupported attribute {logical_id}.{attribute}")

    def resolve(self, value: Any) -> Any:
        """Evaluate intrinsic functions in ``value`` (recursively); ``Ref AWS::NoValue`` removes the item."""
        if isinstance(value, list):
            return [item for item in (self.resolve(v) for v in value) if item is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, argument),) = value.items()
            handler = getattr(self, "_fn_" + key.replace("Fn::", "").replace("::", "_"), None)
            if key in ("Ref", "Condition") or key.startswith("Fn::"):
                if handler is None:
                    raise KeyError(f"unsupported intrinsic function {key}")
                return handler(argument)
        resolved = {k: self.resolve(v) for k, v in value.items()}
        return {k: v for k, v in resolved.items() if v is not NO_VALUE}

    def _fn_Ref(self, argument: str) -> Any:  # noqa: N802
        return self.ref(argument)

    def _fn_Condition(self, argument: str) -> bool:  # noqa: N802
        return self.conditions[argument]

    def _fn_GetAtt(self, argument: list[str] | str) -> str:  # noqa: N802
        logical_id, attribute = argument if isinstance(argument, list) else argument.split(".", 1)
        return self.get_att(logical_id, attribute)

    def _fn_Sub(self, argument: str | list[Any]) -> str:  # noqa: N802
        text, variables = (argument, {}) if isinstance(argument, str) else (argument[0], argument[1])
        resolved_vars = {k: self.resolve(v) for k, v in variables.items()}

        def substitute(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in resolved_vars:
                return str(resolved_vars[name])
            if "." in name and not name.startswith("AWS::"):
                logical_id, attribute = name.split(".", 1)
                return self.get_att(logical_id, attribute)
            return str(self.ref(name))

        return re.sub(r"\$\{([^}]+)\}", substitute, text)

    def _fn_If(self, argument: list[Any]) -> Any:  # noqa: N802
        name, when_true, when_false = argument
        chosen = when_true if self.conditions[name] else when_false
        return self.resolve(chosen)

    def _fn_Equals(self, argument: list[Any]) -> bool:  # noqa: N802
        left, right = (self.resolve(v) for v in argument)
        return str(left) == str(right)

    def _fn_Not(self, argument: list[Any]) -> bool:  # noqa: N802
        return not self.resolve(argument[0])

    def _fn_And(self, argument: list[Any]) -> bool:  # noqa: N802
        return all(self.resolve(v) for v in argument)

    def _fn_Or(self, argument: list[Any]) -> bool:  # noqa: N802
        return any(self.resolve(v) for v in argument)

    def _fn_Join(self, argument: list[Any]) -> str:  # noqa: N802
        delimiter, items = argument
        return str(delimiter).join(str(v) for v in self.resolve(items))

    def _fn_Select(self, argument: list[Any]) -> Any:  # noqa: N802
        index, items = argument
        return self.resolve(items)[int(self.resolve(index))]

    def _fn_Split(self, argument: list[Any]) -> list[str]:  # noqa: N802
        delimiter, text = argument
        return str(self.resolve(text)).split(delimiter)

    def _fn_ToJsonString(self, argument: Any) -> str:  # noqa: N802
        import json

        return json.dumps(self.resolve(argument), separators=(",", ":"))
