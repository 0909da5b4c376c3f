# Filled in by the page work of issues 13/14.
urlpatterns = []
