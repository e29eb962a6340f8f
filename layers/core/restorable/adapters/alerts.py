"""SNS: the one alert topic every alert goes to (verification findings, circuit-breaker trips)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .errors import BOTO_ERRORS, translate

if TYPE_CHECKING:
    from mypy_boto3_sns import SNSClient
else:
    SNSClient = Any


class AlertPublisher:
    """Publishes to the topic with a ``severity`` message attribute (subscriptions may filter on it)."""

    def __init__(self, client: SNSClient, topic_arn: str) -> None:
        self._client = client
        self.topic_arn = topic_arn

    def publish(self, subject: str, message: str, severity: str) -> str:
        try:
            response = self._client.publish(
                TopicArn=self.topic_arn,
                Subject=subject,
                Message=message,
                MessageAttributes={"severity": {"DataType": "String", "StringValue": severity}},
            )
        except BOTO_ERRORS as exc:
            raise translate(exc, f"publish to {self.topic_arn}") from exc
        return str(response.get("MessageId", ""))
