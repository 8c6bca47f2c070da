"""SNS: publishing a notification to a topic (`notify: - sns: <topic ARN>`).

One call per notification, through the single door (AwsApi.call), so the policy grants
`sns:Publish` on the configured topics and nothing else. Subscribers of every protocol get the
same message: the event's JSON object as text.
"""

from __future__ import annotations

from .api import AwsApi

# "Subjects must be UTF-8 text with no line breaks or control characters, and less than 100
# characters long" (Amazon SNS API Reference, Publish, Subject; e.g.
# https://docs.aws.amazon.com/sdk-for-kotlin/api/latest/sns/aws.sdk.kotlin.services.sns.model/-publish-request/subject.html).
MAX_SUBJECT = 99
# "messages must be UTF-8 encoded strings and at most 256 KB in size (262,144 bytes, not 262,144
# characters)" (Amazon SNS API Reference, Publish, Message).
MAX_MESSAGE_BYTES = 262_144


def subject_line(text: str) -> str:
    """A Subject SNS accepts: printable ASCII on one line, shortened to fit."""
    printable = "".join(character if " " <= character <= "~" else " " for character in text).strip()
    return printable if len(printable) <= MAX_SUBJECT else printable[: MAX_SUBJECT - 3].rstrip() + "..."


class Sns:
    def __init__(self, api: AwsApi):
        self.api = api

    def publish(self, topic_arn: str, message: str, subject: str) -> str:
        """Publish one message; returns the MessageId SNS gives it."""
        if len(message.encode("utf-8")) > MAX_MESSAGE_BYTES:
            raise ValueError(f"an SNS message may have at most {MAX_MESSAGE_BYTES} bytes")
        answer = self.api.call("sns", "publish", TopicArn=topic_arn, Message=message, Subject=subject_line(subject))
        return answer.get("MessageId", "")
