from bots.models import CommandRun, ConsoleMessage
from chatops_site.deploys.models import Deployment


def test_console_deploy_to_staging_succeeds(say):
    reply = say("alice", "/deploy web-app staging")
    deployment = Deployment.objects.get()
    assert deployment.state == "succeeded", deployment.detail
    assert reply.public
    assert ConsoleMessage.objects.filter(run_id=reply.run_id, final=True).exists()
    assert CommandRun.objects.get(pk=reply.run_id).outcome == "ok"
