"""The command box runs commands through the chat engine as the logged-in user, on platform "web"."""

from __future__ import annotations

from bots.models import CommandRun
from chatops_site.catalog.models import ChatIdentity
from chatops_site.deploys.models import Deployment, State


def test_a_deploy_from_the_command_box_runs_as_the_user_and_succeeds(command, alice):
    response = command("alice", "/deploy web-app staging v7")

    assert response.status_code == 200
    assert "web-app v7 to staging is queued" in response.text
    run = CommandRun.objects.get()
    assert (run.platform, run.user, run.outcome, run.command) == ("web", alice, "ok", "deploy")
    assert run.deployment.state == State.SUCCEEDED


def test_follow_ups_of_the_run_are_served_until_the_final_one(command, client_as):
    command("alice", "/deploy web-app staging v7")
    run = CommandRun.objects.get()

    answer = client_as("alice").get(f"/command/{run.pk}/messages/").json()

    texts = [m["text"] for m in answer["messages"]]
    assert texts[-1].splitlines()[0].endswith("web-app v7 to staging succeeded")
    assert answer["done"] is True
    later = client_as("alice").get(f"/command/{run.pk}/messages/?after={answer['messages'][-1]['id']}").json()
    assert later["messages"] == []


def test_someone_elses_follow_ups_are_not_found(command, client_as):
    command("alice", "/deploy web-app staging")
    run = CommandRun.objects.get()
    assert client_as("bob").get(f"/command/{run.pk}/messages/").status_code == 404


def test_carol_is_refused_a_deploy_and_nothing_starts(command, carol):
    response = command("carol", "/deploy web-app staging")

    assert response.status_code == 200
    assert "carol may not deploy web-app in staging" in response.text
    run = CommandRun.objects.get()
    assert (run.user, run.outcome) == (carol, "refused")
    assert not Deployment.objects.exists()


def test_an_empty_line_gets_a_hint(command):
    response = command("alice", "   ")
    assert response.status_code == 400
    assert "Type a command" in response.text
    assert not CommandRun.objects.exists()


def test_without_the_script_the_answer_is_a_page(command):
    response = command("bob", "/whoami", fragment=False)
    assert response.status_code == 200
    assert "<html" in response.text and "bob" in response.text


def test_a_web_user_is_linked_to_their_own_account_once(command, alice):
    command("alice", "/whoami")
    command("alice", "/whoami")
    identity = ChatIdentity.objects.get(platform="web")
    assert (identity.workspace, identity.chat_user_id, identity.user) == ("web", str(alice.pk), alice)


def test_a_stale_web_identity_cannot_make_someone_act_as_another(command, alice, carol):
    ChatIdentity.objects.create(platform="web", workspace="web", chat_user_id=str(carol.pk), user=alice)

    command("carol", "/deploy web-app staging")

    assert CommandRun.objects.get().user == carol
    assert not Deployment.objects.exists()


def test_bob_approves_alices_prod_deploy_from_the_overview(command, client_as, say):
    say("alice", "/deploy api prod v3")
    waiting = Deployment.objects.get()

    page = client_as("bob").get("/")
    assert f'value="/approve {waiting.pk}"' in page.text
    response = command("bob", f"/approve {waiting.pk}")

    assert "approved by bob" in response.text
    waiting.refresh_from_db()
    assert waiting.state == State.SUCCEEDED
    assert waiting.approval.approver.username == "bob"


def test_the_requester_and_viewers_get_no_approval_buttons(client_as, say):
    say("alice", "/deploy api prod v3")
    waiting = Deployment.objects.get()

    for username in ("alice", "carol"):
        page = client_as(username).get("/")
        assert f"#{waiting.pk}" in page.text
        assert f'value="/approve {waiting.pk}"' not in page.text


def test_an_approval_through_a_crafted_form_is_still_refused(command, say):
    say("alice", "/deploy api prod v3")
    waiting = Deployment.objects.get()

    response = command("carol", f"/approve {waiting.pk}")

    assert "carol may not approve" in response.text
    waiting.refresh_from_db()
    assert waiting.state == State.AWAITING_APPROVAL
