from django.urls import path

from consult import follow_up_pages

from consult import family_pages, pages, record_pages, recording_pages, schedule_pages

urlpatterns = [
    # The clinician portal and the consultation room.
    path("portal/", pages.portal, name="portal"),
    path("portal/worklist/", pages.portal_worklist, name="portal-worklist"),
    path("portal/bookings/<int:booking_id>/open/", pages.portal_open, name="portal-open"),
    path("portal/consultations/<int:consultation_id>/chart/", pages.doctor_chart, name="doctor-chart"),
    path("portal/consultations/<int:consultation_id>/end/", pages.doctor_end_visit, name="doctor-end-visit"),
    path("portal/consultations/<int:consultation_id>/refer-offline/", pages.doctor_refer_offline, name="doctor-refer-offline"),
    path("portal/consultations/<int:consultation_id>/follow-up/", pages.doctor_confirm_follow_up,
         name="doctor-confirm-follow-up"),
    path("patients/<int:patient_id>/evidence/<int:evidence_id>/", follow_up_pages.evidence_file,
         name="condition-evidence-page"),
    path("portal/icd10/", pages.doctor_icd10_search, name="doctor-icd10-search"),
    path("portal/schedule/", schedule_pages.schedule, name="portal-schedule"),
    path("portal/schedule/sessions/", schedule_pages.template_add, name="portal-schedule-template-add"),
    path("portal/schedule/sessions/<int:template_id>/", schedule_pages.template_edit, name="portal-schedule-template"),
    path("portal/schedule/sessions/<int:template_id>/delete/", schedule_pages.template_delete, name="portal-schedule-template-delete"),
    path("portal/schedule/leave/", schedule_pages.leave_add, name="portal-leave-add"),
    path("portal/schedule/leave/<int:leave_id>/lift/", schedule_pages.leave_lift, name="portal-leave-lift"),
    path("consult/<int:consultation_id>/", pages.room, name="consult-room"),
    path("consult/<int:consultation_id>/recording/", recording_pages.recording_panel, name="consult-recording-panel"),
    path("recordings/<int:recording_id>/", recording_pages.recording_playback_page, name="consult-recording-play"),
    path("patients/<int:patient_id>/bp/", pages.bp_trend_page, name="patient-bp-trend"),
    # The family: visits, and their people and record.
    path("patient/", family_pages.patient_home, name="patient-home"),
    path("patient/bookings/<int:booking_id>/check-in/", family_pages.patient_check_in, name="patient-check-in"),
    path("patient/acting-for/", record_pages.patient_act_for, name="patient-act-for"),
    # The family's account, people and health record (consult.record_pages).
    path("register/", record_pages.register, name="register"),
    path("patient/people/", record_pages.family_people, name="family-people"),
    path("patient/people/add/", record_pages.family_dependant_add, name="family-dependant-add"),
    path("patient/record/", record_pages.family_record, name="family-record"),
    path("patient/record/<int:patient_id>/readings/", record_pages.family_reading_add, name="family-reading-add"),
    path("patient/record/<int:patient_id>/readings/<int:observation_id>/entered-in-error/",
         record_pages.family_reading_entered_in_error, name="family-reading-entered-in-error"),
    path("patient/record/<int:patient_id>/conditions/<int:condition_id>/offline/",
         record_pages.family_condition_offline, name="family-condition-offline"),
]
