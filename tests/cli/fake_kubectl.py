#!/usr/bin/env python3
"""A stand-in for kubectl in the backup/restore CLI tests: answers from a JSON state file (FAKE_KUBE_STATE) that
holds the planned CronJob and Deployment and how each Job ends, and appends every call to FAKE_KUBE_LOG."""

import json
import os
import sys

state_path = os.environ["FAKE_KUBE_STATE"]
state = json.load(open(state_path))
args = [a for a in sys.argv[1:] if not a.startswith(("--kubeconfig=", "--namespace=", "--context="))]
stdin = sys.stdin.read() if args[:3] == ["create", "-f", "-"] else None
with open(os.environ["FAKE_KUBE_LOG"], "a") as log:
    log.write(json.dumps({"args": args, "stdin": stdin}) + "\n")


def save():
    json.dump(state, open(state_path, "w"))


def kind_of(job):
    return "check" if "-rcheck-" in job else "restore" if "-restore-" in job else "backup"


def merge(into, patch):
    """A JSON merge patch (RFC 7386), as `kubectl patch --type=merge` applies it."""
    for key, value in patch.items():
        if value is None:
            into.pop(key, None)
        elif isinstance(value, dict) and isinstance(into.get(key), dict):
            merge(into[key], value)
        else:
            into[key] = value


if args[0] == "get" and args[1] in ("cronjob", "deployment"):
    obj = state["objects"].get(f"{args[1]}/{args[2]}")
    if obj is None:
        sys.exit(print(f'Error from server (NotFound): {args[1]}s "{args[2]}" not found', file=sys.stderr) or 1)
    if args[1] == "cronjob":
        # A scheduled backup Job that is still running for the next `backup_running` reads of the CronJob.
        running = state.get("backup_running", 0)
        obj = {**obj, "status": {"active": [{"kind": "Job", "name": f"{args[2]}-29000000"}]} if running else {}}
        if running > 0:
            state["backup_running"] = running - 1
            save()
    print(json.dumps(obj) if args[-1] == "json" else f"{args[1]}.batch/{args[2]}")
elif args[:2] == ["patch", "cronjob"] and args[3:5] == ["--type=merge", "-p"]:
    merge(state["objects"][f"cronjob/{args[2]}"], json.loads(args[5]))
    save()
    print(f"cronjob.batch/{args[2]} patched")
elif args[:2] == ["get", "deployments"]:
    print(json.dumps({"items": [o for k, o in sorted(state["objects"].items()) if k.startswith("deployment/")]}))
elif args[0] == "create" and args[1] == "job":
    state["jobs"][args[3]] = kind_of(args[3])
    save()
    print(f"job.batch/{args[3]} created")
elif args[:3] == ["create", "-f", "-"]:
    name = json.loads(stdin)["metadata"]["name"]
    state["jobs"][name] = kind_of(name)
    save()
    print(f"job.batch/{name} created")
elif args[:2] == ["get", "job"]:
    outcome = state["outcomes"][state["jobs"][args[2]]]
    print(json.dumps({"status": {"conditions": [{"type": outcome, "status": "True"}]}}))
elif args[0] == "logs":
    print(state["logs"][state["jobs"][args[1].split("/", 1)[1]]])
elif args[0] == "scale":
    state["replicas"] = int(args[2].split("=", 1)[1])
    save()
elif args[:2] == ["get", "pods"]:
    for i in range(state["replicas"]):
        print(f"pod/zenml-server-{i}")
    if not any(a.startswith("--field-selector=") and "status.phase!=Succeeded" in a for a in args):
        print("pod/zenml-migrate-0-98-0-abc123-x1")  # finished, with the server's labels (as in the cluster)
elif args[:2] == ["rollout", "status"]:
    print("deployment successfully rolled out")
else:
    sys.exit(print(f"fake kubectl: unexpected {args}", file=sys.stderr) or 1)
