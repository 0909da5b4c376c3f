from django.apps import AppConfig


class PharmacyConfig(AppConfig):
    name = "pharmacy"
    verbose_name = "Pharmacies, stock and dispatch"

    def ready(self):
        from pharmacy import permissions  # noqa: F401  (registers the pharmacy rules)
        from pharmacy.orders import orders_lock_live, orders_withdraw
        from prescriptions.lifecycle import withdrawal_handler_register

        # A voided or expired prescription withdraws its live orders; prescriptions does not
        # import pharmacy, so pharmacy tells it what to lock and withdraw.
        withdrawal_handler_register(lock=orders_lock_live, withdraw=orders_withdraw)

        from pharmacy import retention

        # After prescriptions': orders point at prescriptions, so the purge takes them first.
        retention.register()

        from pharmacy import activity

        # Medicine orders in the patient's activity list ("by 张薇 on behalf of 张林").
        activity.register()
