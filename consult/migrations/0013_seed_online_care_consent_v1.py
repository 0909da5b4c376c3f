"""Version 1 of the online-care informed consent (知情同意书), and a proxy consent for every
proxy link made before proxy consents were recorded (granted by the patient when they have a
login, else by the proxy as the recorded guardian, from the link's own date), so that no
family loses access on the day this is deployed."""

from django.db import migrations

TITLE_ZH = "互联网诊疗知情同意书"
TITLE_EN = "Informed consent to online care"

TEXT_ZH = """\
在使用本互联网医院的在线诊疗服务之前，请您（或您的监护人、家属）仔细阅读以下内容。

一、在线诊疗能做什么
1. 本院在线诊疗仅为部分常见病、慢性病患者提供复诊服务。您需已在实体医疗机构就同一疾病明确诊断，并能提供门诊病历、出院小结或诊断证明等资料。
2. 医生可以通过图文、语音或视频与您交流，了解病情变化，调整治疗方案，开具电子处方。处方经药师审核后方可生效。

二、在线诊疗不能做什么
1. 不提供首诊服务。医生判断为首诊、病情发生变化或不适合在线诊疗时，将立即终止在线诊疗，并建议您到实体医院就诊。
2. 不开具麻醉药品、精神药品等特殊管理药品。
3. 6 岁以下儿童就诊时，必须有监护人和相关专业人员在场。

三、紧急情况请线下就医
在线诊疗不适用于急危重症。如出现胸痛、呼吸困难、意识障碍、大出血等紧急情况，请立即拨打 120 或前往最近的急诊科。

四、真实身份与资料
您应使用真实身份就诊，并如实提供病史、用药、过敏史等信息。代他人就诊的家属或监护人须经患者本人或其监护人授权。

五、个人信息与病历的使用
您的在线诊疗记录属于门诊电子病历，依法保存不少于 15 年；图文、音视频资料保存不少于 3 年。您的信息仅用于诊疗、药事服务、依法向监管平台报送及您同意的用途；每一次非本人及其代理人的查阅都会被记录，您可随时查看谁查阅了您的病历。

六、录音录像
只有在您和医生双方同意的情况下，才会对视频问诊进行录制。录制内容按上述期限保存，仅供诊疗、质量管理及依法监管使用。

七、您的权利
您可以随时停止在线诊疗并改为线下就医；您可以撤回对家属代理的授权。本同意书更新后，您需要重新阅读并同意新版本。

依据《互联网诊疗管理办法（试行）》和《互联网诊疗监管细则（试行）》制定。"""

TEXT_EN = """\
Before you use this internet hospital's online care, please (or your guardian or family member) read the following.

1. What online care can do
- Online care here is for follow-up visits (复诊) of some common and chronic diseases only. The condition must already have been diagnosed at a hospital or clinic in person, and you should be able to supply the outpatient record, discharge summary or diagnosis certificate.
- The doctor talks with you by text, voice or video, reviews how you are, adjusts the treatment and may write an electronic prescription. A prescription takes effect only after a pharmacist has approved it.

2. What online care cannot do
- There are no first visits online. If the doctor judges it a first visit, sees that the condition has changed, or finds online care unsuitable, the doctor stops the online consult at once and refers you to a hospital in person.
- No narcotic, psychotropic or other specially managed drugs are prescribed online.
- A child under 6 is seen only with a guardian and a relevant professional present.

3. Emergencies go offline
Online care is not for emergencies. For chest pain, difficulty breathing, confusion or loss of consciousness, heavy bleeding or any other emergency, call 120 or go to the nearest emergency department now.

4. Your real identity and your information
Use your real identity and give a true account of your history, medicines and allergies. A family member or guardian acting for someone else does so only with the consent of the patient or their guardian.

5. How your information is used
Online-consult records are outpatient medical records and are kept for at least 15 years; text, images, audio and video for at least 3 years. Your information is used for your care, pharmacy services, the reports the law requires to the regulator's supervision platform, and what you agree to. Every read by anyone other than you and your proxies is logged, and you can see who read your record.

6. Recording
A video consult is recorded only when both you and the doctor agree. Recordings are kept for the periods above and used only for care, quality review and lawful supervision.

7. Your rights
You may stop online care at any time and see a doctor in person instead, and you may revoke a family member's consent to act for you. When this consent is updated you will be asked to read and accept the new version.

Based on 互联网诊疗管理办法（试行） and 互联网诊疗监管细则（试行）."""


def seed(apps, schema_editor):
    ConsentText = apps.get_model("consult", "ConsentText")
    ProxyLink = apps.get_model("consult", "ProxyLink")
    ProxyConsent = apps.get_model("consult", "ProxyConsent")
    ConsentText.objects.get_or_create(kind="online_care", version=1, defaults={
        "title_zh": TITLE_ZH, "title_en": TITLE_EN, "text_zh": TEXT_ZH, "text_en": TEXT_EN,
    })
    for link in ProxyLink.objects.select_related("patient").filter(consents__isnull=True):
        own = link.patient.account_id
        ProxyConsent.objects.create(
            link=link, granted_by_id=own or link.proxy_id, grantor_role="patient" if own else "guardian",
            scope=["book", "record", "medicines"], starts_at=link.created_at, granted_at=link.created_at,
        )


def unseed(apps, schema_editor):
    apps.get_model("consult", "ConsentText").objects.filter(kind="online_care", version=1, acceptances__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("consult", "0012_consent_texts_acceptances_proxy_consents")]
    operations = [migrations.RunPython(seed, unseed)]
