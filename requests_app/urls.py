from django.urls import path

from requests_app.views import (
    accounts,
    audit,
    detail,
    lists,
    preferences,
    queue_actions,
    reasons,
    saved_views,
    team,
    tracking_values,
)

app_name = "requests"
urlpatterns = [
    path("", lists.request_list, name="list"),
    path("sync/", lists.start_sync, name="sync"),
    path("sync/status/", lists.sync_status, name="sync_status"),
    path("r/<str:impact_id>/", detail.request_detail, name="detail"),
    path("r/<str:impact_id>/approve/", detail.approve, name="approve"),
    path("r/<str:impact_id>/reject/", detail.reject, name="reject"),
    path("r/<str:impact_id>/undo/<int:decision_id>/", detail.undo, name="undo"),
    path("r/<str:impact_id>/claim/", queue_actions.claim, name="claim"),
    path("r/<str:impact_id>/release/", queue_actions.release, name="release"),
    path("r/<str:impact_id>/assign/", queue_actions.assign, name="assign"),
    path("r/<str:impact_id>/comment/", queue_actions.comment, name="comment"),
    path("bulk-reject/", queue_actions.bulk_reject, name="bulk_reject"),
    path("views/", lists.saved_views, name="saved_views"),
    path("views/save/", saved_views.save_view, name="save_view"),
    path("views/<int:view_id>/delete/", saved_views.delete_view, name="delete_view"),
    path("reasons/", reasons.reasons, name="reasons"),
    path("reasons/<int:reason_id>/", reasons.change_reason, name="change_reason"),
    path("audit/", audit.audit_log, name="audit"),
    path("audit/export.csv", audit.audit_export, name="audit_export"),
    path("team/", team.team, name="team"),
    path("team/grant/", accounts.grant, name="grant"),
    path("switch-account/", accounts.switch_account, name="switch_account"),
    path("all-accounts/", accounts.all_accounts, name="all_accounts"),
    path("impact-accounts/", accounts.account_list, name="accounts"),
    path("preferences/", preferences.preferences, name="preferences"),
    path("values/<str:kind>/", tracking_values.picker_options, name="tracking_values"),
]
