from django.urls import path

from requests_app.views import detail, lists, team

app_name = "requests"
urlpatterns = [
    path("", lists.request_list, name="list"),
    path("sync/", lists.start_sync, name="sync"),
    path("sync/status/", lists.sync_status, name="sync_status"),
    path("r/<str:impact_id>/", detail.request_detail, name="detail"),
    path("r/<str:impact_id>/approve/", detail.approve, name="approve"),
    path("r/<str:impact_id>/reject/", detail.reject, name="reject"),
    path("r/<str:impact_id>/undo/<int:decision_id>/", detail.undo, name="undo"),
    path("r/<str:impact_id>/claim/", team.claim, name="claim"),
    path("r/<str:impact_id>/release/", team.release, name="release"),
    path("r/<str:impact_id>/assign/", team.assign, name="assign"),
    path("r/<str:impact_id>/comment/", team.comment, name="comment"),
    path("bulk-reject/", team.bulk_reject, name="bulk_reject"),
    path("views/", lists.saved_views, name="saved_views"),
    path("views/save/", team.save_view, name="save_view"),
    path("views/<int:view_id>/delete/", team.delete_view, name="delete_view"),
    path("reasons/", team.reasons, name="reasons"),
    path("reasons/<int:reason_id>/", team.change_reason, name="change_reason"),
    path("audit/", team.audit_log, name="audit"),
    path("audit/export.csv", team.audit_export, name="audit_export"),
    path("team/", team.team, name="team"),
]
