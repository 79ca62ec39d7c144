"""The schema's enums: the domain's own enums, exposed as they are."""

import strawberry

from core.errors import ErrorCode as _ErrorCode
from core.permissions import Role as _Role
from models.payment_intents import CaptureMethod as _CaptureMethod
from models.payment_intents import IntentStatus as _IntentStatus

ErrorCode = strawberry.enum(_ErrorCode, name="ErrorCode")
Role = strawberry.enum(_Role, name="Role")
CaptureMethod = strawberry.enum(_CaptureMethod, name="CaptureMethod")
PaymentIntentStatus = strawberry.enum(_IntentStatus, name="PaymentIntentStatus")
