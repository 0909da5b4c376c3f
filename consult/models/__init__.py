from consult.models.patients import (
    Allergy,
    AllergyCategory,
    Condition,
    ConditionEvidence,
    ConditionStatus,
    EvidenceKind,
    Medication,
    Observation,
    ObservationKind,
    ObservationSource,
    Patient,
    ProxyLink,
    Relationship,
    Severity,
    Sex,
)

__all__ = [
    "Allergy",
    "AllergyCategory",
    "Condition",
    "ConditionEvidence",
    "ConditionStatus",
    "EvidenceKind",
    "Medication",
    "Observation",
    "ObservationKind",
    "ObservationSource",
    "Patient",
    "ProxyLink",
    "Relationship",
    "Severity",
    "Sex",
]

from consult.models.clinics import (  # noqa: E402
    Clinic,
    Doctor,
    DoctorTitle,
    Hospital,
    LeaveBlock,
    ScheduleTemplate,
    Slot,
    Specialty,
    Weekday,
)
from consult.models.visits import ACTIVE_BOOKING_STATUSES, Booking, BookingStatus  # noqa: E402

__all__ += [
    "ACTIVE_BOOKING_STATUSES",
    "Booking",
    "BookingStatus",
    "Clinic",
    "Doctor",
    "DoctorTitle",
    "Hospital",
    "LeaveBlock",
    "ScheduleTemplate",
    "Slot",
    "Specialty",
    "Weekday",
]

from consult.models.consultations import (  # noqa: E402
    ChatMessage,
    Consultation,
    ConsultationOutcome,
    ConsultationStatus,
    RoomPresence,
)

__all__ += ["ChatMessage", "Consultation", "ConsultationOutcome", "ConsultationStatus", "RoomPresence"]

from consult.models.recordings import (  # noqa: E402
    ConsultRecording,
    RecordingChunk,
    RecordingConsent,
    RecordingSide,
    RecordingStatus,
)

__all__ += ["ConsultRecording", "RecordingChunk", "RecordingConsent", "RecordingSide", "RecordingStatus"]

from consult.models.consents import (  # noqa: E402
    ConsentAcceptance,
    ConsentKind,
    ConsentText,
    GrantorRole,
    ProxyConsent,
    ProxyConsentStatus,
    ProxyScope,
)

__all__ += ["ConsentAcceptance", "ConsentKind", "ConsentText", "GrantorRole", "ProxyConsent", "ProxyConsentStatus",
            "ProxyScope"]

from consult.models.registrations import DoctorRegistration  # noqa: E402

__all__ += ["DoctorRegistration"]
