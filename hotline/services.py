"""Everything a running instance holds, opened in order and closed in reverse.

Start-up fails closed: no readable recovery key, server secret or rule set →
the service refuses to start and says which file is wrong (SecureDrop refuses
to open its form when the submission key is invalid, for the same reason).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web

from crypto import CryptoError, PublicIdentity

from .api.auth import Authenticator, origin_of
from .config import Config
from .domain import new_tip_ref
from .errors import InstanceError
from .instance import InstancePaths
from .intake import Intake
from .keystore import KeyStore, open_keystore
from .ops.metrics import Metrics
from .paging.runtime import Paging, paging_policy
from .ratelimit import GlobalFailureLimit
from .rules_holder import RulesHolder
from .rules_sync import RulesSync
from .server_secret import ServerSecret, load_server_secret
from .store.factory import open_store
from .store.message_channels import fill_message_channels
from .store.queries import get_meta
from .store.reply_keys import fill_reply_keys
from .store.seam import Store, store_target
from .twilio.runtime import TwilioServices


def load_recovery(path: Path) -> PublicIdentity:
    try:
        return PublicIdentity.from_pub_file(path.read_bytes())
    except FileNotFoundError:
        raise InstanceError(f"{path}: recovery public key not found") from None
    except CryptoError as e:
        raise InstanceError(f"{path}: {e}") from None


@dataclass
class Services:
    config: Config
    paths: InstancePaths
    db: Store
    keystore: KeyStore
    secret: ServerSecret
    rules: RulesHolder
    recovery: PublicIdentity
    instance_id: str
    intake: Intake
    receipt_limit: GlobalFailureLimit
    auth: Authenticator
    twilio: TwilioServices | None = None  # None: Twilio is not configured, its channels say so
    metrics: Metrics = field(default_factory=Metrics)
    paging: Paging | None = None
    rules_sync: RulesSync | None = None  # rule reloads to and from the other front ends

    @classmethod
    async def open(cls, config: Config, env: Mapping[str, str] | None = None, *,
                   tip_refs: Callable[[], str] = new_tip_ref) -> Services:
        paths = InstancePaths(config.instance_dir)
        secret = load_server_secret(paths.server_secret, env)
        recovery = load_recovery(paths.recovery_pub)
        rules = RulesHolder(config.rule_paths(), reader=config["rules.reader"])
        target = store_target(paths.root, env)
        if not target.exists():
            raise InstanceError(f"{target.describe()}: no database (run 'hotline init')")
        db = open_store(target, batch_max=config["store.batch_max"])
        await db.open()
        try:
            keystore = open_keystore(paths.root, config.values, env, main=target, background=True)
        except BaseException:
            await db.close()
            raise
        try:
            await keystore.open()
            instance_id = await get_meta(db, "instance_id")
            if not instance_id:
                raise InstanceError(f"{target.describe()}: no instance id (run 'hotline init')")
            await fill_message_channels(db, keystore.get)  # rows from before schema v7
            await fill_reply_keys(db, keystore.get)  # reply keys in clear before schema v13
        except BaseException:
            await keystore.close()
            await db.close()
            raise
        metrics = Metrics()
        intake = Intake(db=db, keystore=keystore, secret=secret, rules=rules,
                        instance_id=instance_id, recovery=recovery.recipient(),
                        paging=paging_policy(config), default_delay=config["paging.default_delay"],
                        metrics=metrics, tip_refs=tip_refs)
        limit = GlobalFailureLimit(config["web.receipt_failures_per_minute"], db)
        auth = Authenticator(db=db, origin=origin_of(config["service.public_url"]),
                             extra_origins=config["service.extra_origins"],
                             instance_id=instance_id, challenge_ttl=config["api.challenge_ttl"],
                             token_ttl=config["api.token_ttl"],
                             mac_key=secret.subkey("login-challenge"))
        twilio = None
        if config.twilio_enabled:
            try:
                twilio = await TwilioServices.open(config, db=db, secret=secret, intake=intake)
            except BaseException:
                await keystore.close()
                await db.close()
                raise
        try:
            paging = await Paging.open(config, db=db, rest=twilio.rest if twilio else None,
                                       metrics=metrics)
        except BaseException:
            if twilio is not None:
                await twilio.close()
            await keystore.close()
            await db.close()
            raise
        intake.page_opened = paging.worker.wake
        services = cls(config, paths, db, keystore, secret, rules, recovery, instance_id, intake,
                       limit, auth, twilio, metrics, paging)
        sync = RulesSync(db=db, rules=rules, poll=config["cluster.rules_poll"])
        try:
            await sync.open()
        except BaseException:
            await services.close()
            raise
        services.rules_sync = sync
        return services

    async def close(self) -> None:
        if self.rules_sync is not None:
            await self.rules_sync.close()
        if self.paging is not None:  # stops sending before Twilio's client closes
            await self.paging.close()
        if self.twilio is not None:  # its workers write: stop them before the database
            await self.twilio.close()
        await self.db.close()
        await self.keystore.close()


# The running instance's services, on the aiohttp application (opened by ``app.make_app``).
SERVICES: web.AppKey[Services] = web.AppKey("services", Services)
