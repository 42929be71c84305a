import pulumi
from pulumi.dynamic import CreateResult, DiffResult, Resource, ResourceProvider, UpdateResult


class Prov(ResourceProvider):
    def create(self, props):
        return CreateResult(id_=props["name"], outs=dict(props))

    def diff(self, _id, olds, news):
        changed = [k for k in ("size", "name", "password") if olds.get(k) != news.get(k)]
        return DiffResult(changes=bool(changed), replaces=[k for k in changed if k == "name"], delete_before_replace=False)

    def update(self, _id, olds, news):
        return UpdateResult(outs=dict(news))


class Thing(Resource):
    def __init__(self, name, props, opts=None):
        super().__init__(Prov(), name, props, opts)


cfg = pulumi.Config()
gen = cfg.get_int("gen") or 1
Thing("app-server", {"name": "server", "size": gen})
Thing("default-mysql", {"name": f"mysql-{gen}", "size": 1, "password": pulumi.Output.secret("hunter2-do-not-print")})
if gen == 1:
    Thing("old-secrets-encryption-key", {"name": "key", "size": 1})
pulumi.export("secretOut", pulumi.Output.secret("hunter2-do-not-print"))
