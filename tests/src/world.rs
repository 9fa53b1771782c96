//! The test world: one builder that starts the AWS emulator and seeds, through the Rust SDK,
//! what a scenario needs; the integration tests, the demo and the benchmarks all get their
//! Identity Center, directory, organisation, safety rails and findings topic from here, so there
//! is one way to make each thing.
//!
//! ```no_run
//! # async fn f() {
//! use idc_guard_tests::world::{PermissionSet, Principal, World};
//! let w = World::builder()
//!     .permission_set(PermissionSet::new("DataEngineer").session("PT4H").boundary(true))
//!     .group("data-engineers")
//!     .assign("333333333333", "DataEngineer", Principal::group("data-engineers"))
//!     .state_table()
//!     .kill_switch("enforce")
//!     .topic()
//!     .build()
//!     .await;
//! let arn = w.set_arn("DataEngineer");
//! # }
//! ```
//!
//! [`World`] hands back the SDK clients, the ids and ARNs it created, and a [`CallRecorder`] that
//! the clients of [`World::guard`] (and [`World::recorded_sso`]…) report to. Everything made
//! after the build (the violations a test then commits) goes through the same methods.

use std::path::{Path, PathBuf};

use aws_sdk_identitystore::types::{MemberId, Name};
use aws_sdk_ssoadmin::types::{
    AccessControlAttribute, AccessControlAttributeValue, CustomerManagedPolicyReference,
    InstanceAccessControlAttributeConfiguration, PermissionsBoundary, PrincipalType, Tag, TargetType,
};
use idc_guard::adapters::{IdentityStoreApi, SsoAdmin};
use idc_guard::domain::{IdentityStoreId, InstanceArn};
use idc_guard::guard::Guard;
use idc_guard::policy::Policy;
use idc_guard::ports::{Gate, Notifier};
use idc_guard::retry::RetryPolicy;
use serde_json::{Value, json};

use crate::calls::CallRecorder;
use crate::emulator::{self, Emulator, REGION};
use crate::proxy::CountingProxy;
use crate::repo_root;

/// The safety rails' state table, named as deployed.
pub const STATE_TABLE: &str = "idc-guard-state";
/// The kill switch parameter, named as deployed.
pub const KILL_SWITCH: &str = idc_guard::safety::DEFAULT_KILL_SWITCH;
/// The findings topic, named as deployed.
pub const FINDINGS_TOPIC: &str = "idc-guard-findings";
/// The customer-managed policy [`PermissionSet::boundary`] puts as the permissions boundary (the
/// one the shipped policy requires).
pub const BOUNDARY: &str = "platform-boundary";
/// The account the emulator's SQS queues live in.
const EMULATOR_ACCOUNT: &str = "123456789012";

/// A permission set to create: its name and, builder-style, what else it has.
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct PermissionSet {
    name: String,
    description: Option<String>,
    session_duration: Option<String>,
    relay_state: Option<String>,
    tags: Vec<(String, String)>,
    boundary: bool,
    inline_policy: Option<String>,
    managed_policies: Vec<String>,
}

impl PermissionSet {
    /// A set with only a name (the emulator then gives it AWS's default session, PT1H).
    pub fn new(name: &str) -> PermissionSet {
        PermissionSet {
            name: name.to_owned(),
            ..PermissionSet::default()
        }
    }

    /// Its description.
    pub fn description(mut self, text: &str) -> PermissionSet {
        self.description = Some(text.to_owned());
        self
    }

    /// Its session duration (`PT4H`).
    pub fn session(mut self, duration: &str) -> PermissionSet {
        self.session_duration = Some(duration.to_owned());
        self
    }

    /// Its relay state (a console URL).
    pub fn relay_state(mut self, url: &str) -> PermissionSet {
        self.relay_state = Some(url.to_owned());
        self
    }

    /// A tag, given at creation (tags keep this order).
    pub fn tag(mut self, key: &str, value: &str) -> PermissionSet {
        self.tags.push((key.to_owned(), value.to_owned()));
        self
    }

    /// With (`true`) the [`BOUNDARY`] policy `/platform-boundary` as its permissions boundary.
    pub fn boundary(mut self, boundary: bool) -> PermissionSet {
        self.boundary = boundary;
        self
    }

    /// An inline policy (JSON text).
    pub fn inline_policy(mut self, policy: &str) -> PermissionSet {
        self.inline_policy = Some(policy.to_owned());
        self
    }

    /// An attached AWS managed policy (its ARN).
    pub fn managed_policy(mut self, arn: &str) -> PermissionSet {
        self.managed_policies.push(arn.to_owned());
        self
    }

    /// Its name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Creates it in `instance` (CreatePermissionSet, then its boundary and policies); its ARN.
    ///
    /// # Panics
    /// If a call fails.
    pub async fn create(&self, sso: &aws_sdk_ssoadmin::Client, instance: &str) -> String {
        let tags = self
            .tags
            .iter()
            .map(|(k, v)| Tag::builder().key(k).value(v).build().expect("a tag"))
            .collect::<Vec<_>>();
        let arn = sso
            .create_permission_set()
            .instance_arn(instance)
            .name(&self.name)
            .set_description(self.description.clone())
            .set_session_duration(self.session_duration.clone())
            .set_relay_state(self.relay_state.clone())
            .set_tags((!tags.is_empty()).then_some(tags))
            .send()
            .await
            .unwrap_or_else(|e| panic!("CreatePermissionSet {}: {e:?}", self.name))
            .permission_set()
            .and_then(|p| p.permission_set_arn())
            .expect("the new permission set has an ARN")
            .to_owned();
        if self.boundary {
            put_boundary(sso, instance, &arn).await;
        }
        if let Some(policy) = &self.inline_policy {
            put_inline_policy(sso, instance, &arn, policy).await;
        }
        for managed in &self.managed_policies {
            attach_managed_policy(sso, instance, &arn, managed).await;
        }
        arn
    }
}

/// A user to create in the identity store.
#[derive(Debug, Clone)]
#[must_use]
pub struct User {
    user_name: String,
    display_name: String,
    given_name: String,
    family_name: String,
}

impl User {
    /// A user named `user_name`, also its display name, given and family name until set.
    pub fn new(user_name: &str) -> User {
        User {
            user_name: user_name.to_owned(),
            display_name: user_name.to_owned(),
            given_name: user_name.to_owned(),
            family_name: user_name.to_owned(),
        }
    }

    /// Its display name.
    pub fn display(mut self, name: &str) -> User {
        self.display_name = name.to_owned();
        self
    }

    /// Its given and family name.
    pub fn name(mut self, given: &str, family: &str) -> User {
        given.clone_into(&mut self.given_name);
        family.clone_into(&mut self.family_name);
        self
    }
}

/// Who a seeded assignment is for.
#[derive(Debug, Clone)]
pub enum Principal {
    /// A group the builder creates, by name.
    Group(String),
    /// A user the builder creates, by user name.
    User(String),
    /// A user id, whether or not the identity store has it (the guard only reads assignments).
    UserId(String),
}

impl Principal {
    /// A group the builder creates, by name.
    pub fn group(name: &str) -> Principal {
        Principal::Group(name.to_owned())
    }

    /// A user the builder creates, by user name.
    pub fn user(name: &str) -> Principal {
        Principal::User(name.to_owned())
    }

    /// A user by id.
    pub fn user_id(id: &str) -> Principal {
        Principal::UserId(id.to_owned())
    }
}

/// What to seed: see [`World::builder`]. Things are created in a fixed order (organisation and
/// accounts, permission sets, ABAC, groups, users, memberships, assignments, safety rails, topic,
/// queues), each kind in the order it was given.
#[derive(Debug, Default)]
#[must_use]
pub struct WorldBuilder {
    organization: bool,
    accounts: Vec<String>,
    permission_sets: Vec<PermissionSet>,
    abac: Vec<(String, String)>,
    groups: Vec<String>,
    users: Vec<User>,
    members: Vec<(String, String)>,
    assignments: Vec<(String, String, Principal)>,
    state_table: bool,
    kill_switch: Option<String>,
    topic: bool,
    queues: Vec<(String, Option<Value>)>,
    proxy: bool,
}

impl WorldBuilder {
    /// An AWS Organization (all features), with these member accounts (by name; their email is
    /// `<name>@example.com`).
    pub fn organization<S: Into<String>>(mut self, accounts: impl IntoIterator<Item = S>) -> WorldBuilder {
        self.organization = true;
        self.accounts.extend(accounts.into_iter().map(Into::into));
        self
    }

    /// A permission set.
    pub fn permission_set(mut self, set: PermissionSet) -> WorldBuilder {
        self.permission_sets.push(set);
        self
    }

    /// The instance's ABAC configuration: (key, source) pairs.
    pub fn abac(mut self, attributes: &[(&str, &str)]) -> WorldBuilder {
        self.abac
            .extend(attributes.iter().map(|(k, s)| ((*k).to_owned(), (*s).to_owned())));
        self
    }

    /// A group.
    pub fn group(mut self, name: &str) -> WorldBuilder {
        self.groups.push(name.to_owned());
        self
    }

    /// A user.
    pub fn user(mut self, user: User) -> WorldBuilder {
        self.users.push(user);
        self
    }

    /// `user` (a user name) a member of `group` (a group name).
    pub fn member(mut self, user: &str, group: &str) -> WorldBuilder {
        self.members.push((user.to_owned(), group.to_owned()));
        self
    }

    /// An assignment of the permission set named `set` in `account` (an account id).
    pub fn assign(mut self, account: &str, set: &str, principal: Principal) -> WorldBuilder {
        self.assignments.push((account.to_owned(), set.to_owned(), principal));
        self
    }

    /// The safety rails' state table, [`STATE_TABLE`].
    pub fn state_table(mut self) -> WorldBuilder {
        self.state_table = true;
        self
    }

    /// The kill switch parameter [`KILL_SWITCH`], set to `value`.
    pub fn kill_switch(mut self, value: &str) -> WorldBuilder {
        self.kill_switch = Some(value.to_owned());
        self
    }

    /// The findings topic, [`FINDINGS_TOPIC`].
    pub fn topic(mut self) -> WorldBuilder {
        self.topic = true;
        self
    }

    /// An SQS queue subscribed to the findings topic (which this implies), with a filter policy
    /// if one is given.
    pub fn queue(mut self, name: &str, filter: Option<Value>) -> WorldBuilder {
        self.topic = true;
        self.queues.push((name.to_owned(), filter));
        self
    }

    /// A [`CountingProxy`] in front of the emulator, recording into [`World::calls`].
    pub fn counting_proxy(mut self) -> WorldBuilder {
        self.proxy = true;
        self
    }

    /// Starts the emulator and seeds it.
    ///
    /// # Panics
    /// If the emulator does not start (see [`Emulator::start`]) or a seeding call fails.
    pub async fn build(self) -> World {
        let mut w = World::start().await;
        if self.organization {
            w.root = Some(w.create_organization().await);
        }
        for name in &self.accounts {
            let id = w.create_account(name).await;
            w.accounts.push(id);
        }
        for set in &self.permission_sets {
            let arn = w.create_permission_set(set).await;
            w.permission_sets.push((set.name.clone(), arn));
        }
        if !self.abac.is_empty() {
            let pairs: Vec<(&str, &str)> = self.abac.iter().map(|(k, s)| (k.as_str(), s.as_str())).collect();
            w.create_abac(&pairs).await;
        }
        for name in &self.groups {
            let id = w.create_group(name).await;
            w.groups.push((name.clone(), id));
        }
        for user in &self.users {
            let id = w.create_user(user).await;
            w.users.push((user.user_name.clone(), id));
        }
        for (user, group) in &self.members {
            let id = w.add_member(w.group_id(group), w.user_id(user)).await;
            w.memberships.push(id);
        }
        self.seed_assignments(&mut w).await;
        if self.state_table {
            w.create_state_table(STATE_TABLE).await;
        }
        if let Some(value) = &self.kill_switch {
            w.set_kill_switch(value).await;
        }
        if self.topic {
            w.topic = Some(w.create_topic().await);
        }
        for (name, filter) in &self.queues {
            let url = w.subscribe_queue(name, filter.as_ref()).await;
            w.queues.push((name.clone(), url));
        }
        if self.proxy {
            w.proxy = Some(CountingProxy::start(w.emulator.port(), w.calls.clone()));
        }
        w
    }

    async fn seed_assignments(&self, w: &mut World) {
        for (account, set, principal) in &self.assignments {
            let (kind, id) = match principal {
                Principal::Group(name) => (PrincipalType::Group, w.group_id(name).to_owned()),
                Principal::User(name) => (PrincipalType::User, w.user_id(name).to_owned()),
                Principal::UserId(id) => (PrincipalType::User, id.clone()),
            };
            w.assign(account, w.set_arn(set), kind, &id).await;
            w.seeded_assignments += 1;
        }
    }
}

/// A running emulator, seeded: the clients, what was created, and the record of the calls made
/// by the recorded clients. Dropping it stops the emulator.
#[derive(Debug)]
pub struct World {
    /// The counting proxy, if one was asked for (dropped, so stopped, before the emulator).
    pub proxy: Option<CountingProxy>,
    /// The emulator.
    pub emulator: Emulator,
    /// SDK configuration for it.
    pub sdk: aws_config::SdkConfig,
    /// sso-admin (not recorded: seeding and checking).
    pub sso: aws_sdk_ssoadmin::Client,
    /// identitystore (not recorded).
    pub ids: aws_sdk_identitystore::Client,
    /// Organizations.
    pub orgs: aws_sdk_organizations::Client,
    /// DynamoDB.
    pub ddb: aws_sdk_dynamodb::Client,
    /// SSM.
    pub ssm: aws_sdk_ssm::Client,
    /// SNS.
    pub sns: aws_sdk_sns::Client,
    /// SQS.
    pub sqs: aws_sdk_sqs::Client,
    /// The instance ARN.
    pub instance: String,
    /// The identity store id.
    pub store: String,
    /// What the recorded clients (and the proxy) sent, in order.
    pub calls: CallRecorder,
    /// The organisation's root, if one was created.
    pub root: Option<String>,
    /// The organisation's accounts the builder created, by id, in order.
    pub accounts: Vec<String>,
    /// (name, ARN) of every permission set the builder created, in order.
    pub permission_sets: Vec<(String, String)>,
    /// (name, id) of every group the builder created, in order.
    pub groups: Vec<(String, String)>,
    /// (user name, id) of every user the builder created, in order.
    pub users: Vec<(String, String)>,
    /// The memberships the builder created, by id, in order.
    pub memberships: Vec<String>,
    /// How many assignments the builder created.
    pub seeded_assignments: usize,
    /// The findings topic's ARN, if one was created.
    pub topic: Option<String>,
    /// (name, URL) of every queue subscribed to the topic, in order.
    pub queues: Vec<(String, String)>,
}

impl World {
    /// What to seed, builder-style; [`WorldBuilder::build`] starts the emulator.
    pub fn builder() -> WorldBuilder {
        WorldBuilder::default()
    }

    async fn start() -> World {
        let emulator = Emulator::start();
        let sdk = emulator.sdk_config().await;
        let (instance, store) = emulator.instance().await;
        World {
            proxy: None,
            sso: aws_sdk_ssoadmin::Client::new(&sdk),
            ids: aws_sdk_identitystore::Client::new(&sdk),
            orgs: aws_sdk_organizations::Client::new(&sdk),
            ddb: aws_sdk_dynamodb::Client::new(&sdk),
            ssm: aws_sdk_ssm::Client::new(&sdk),
            sns: aws_sdk_sns::Client::new(&sdk),
            sqs: aws_sdk_sqs::Client::new(&sdk),
            emulator,
            sdk,
            instance,
            store,
            calls: CallRecorder::default(),
            root: None,
            accounts: Vec::new(),
            permission_sets: Vec::new(),
            groups: Vec::new(),
            users: Vec::new(),
            memberships: Vec::new(),
            seeded_assignments: 0,
            topic: None,
            queues: Vec::new(),
        }
    }

    // ---- what the builder made, by name ----------------------------------------------------

    /// The ARN of the permission set the builder created as `name`.
    ///
    /// # Panics
    /// If there is none.
    pub fn set_arn(&self, name: &str) -> &str {
        lookup(&self.permission_sets, name, "permission set")
    }

    /// The id of the group the builder created as `name`.
    ///
    /// # Panics
    /// If there is none.
    pub fn group_id(&self, name: &str) -> &str {
        lookup(&self.groups, name, "group")
    }

    /// The id of the user the builder created as `name`.
    ///
    /// # Panics
    /// If there is none.
    pub fn user_id(&self, name: &str) -> &str {
        lookup(&self.users, name, "user")
    }

    /// The findings topic's ARN.
    ///
    /// # Panics
    /// If the builder made none.
    pub fn topic_arn(&self) -> &str {
        self.topic
            .as_deref()
            .expect("the world has a findings topic: WorldBuilder::topic")
    }

    /// The URL of the queue the builder subscribed as `name`.
    ///
    /// # Panics
    /// If there is none.
    pub fn queue_url(&self, name: &str) -> &str {
        lookup(&self.queues, name, "queue")
    }

    // ---- the guard's side: recorded clients, guards, policies ------------------------------

    /// An sso-admin client whose requests [`World::calls`] records.
    pub fn recorded_sso(&self) -> aws_sdk_ssoadmin::Client {
        aws_sdk_ssoadmin::Client::from_conf(
            aws_sdk_ssoadmin::config::Builder::from(&self.sdk)
                .interceptor(self.calls.clone())
                .build(),
        )
    }

    /// An account access manager client whose requests [`World::calls`] records.
    pub fn recorded_account_access(&self) -> aws_sdk_accountaccess::Client {
        aws_sdk_accountaccess::Client::from_conf(
            aws_sdk_accountaccess::config::Builder::from(&self.sdk)
                .interceptor(self.calls.clone())
                .build(),
        )
    }

    /// An identitystore client whose requests [`World::calls`] records.
    pub fn recorded_ids(&self) -> aws_sdk_identitystore::Client {
        aws_sdk_identitystore::Client::from_conf(
            aws_sdk_identitystore::config::Builder::from(&self.sdk)
                .interceptor(self.calls.clone())
                .build(),
        )
    }

    /// A DynamoDB client whose requests `recorder` records.
    pub fn recorded_ddb(&self, recorder: &CallRecorder) -> aws_sdk_dynamodb::Client {
        aws_sdk_dynamodb::Client::from_conf(
            aws_sdk_dynamodb::config::Builder::from(&self.sdk)
                .interceptor(recorder.clone())
                .build(),
        )
    }

    /// An SSM client whose requests `recorder` records.
    pub fn recorded_ssm(&self, recorder: &CallRecorder) -> aws_sdk_ssm::Client {
        aws_sdk_ssm::Client::from_conf(
            aws_sdk_ssm::config::Builder::from(&self.sdk)
                .interceptor(recorder.clone())
                .build(),
        )
    }

    /// A guard on the recorded clients (retries without waiting), behind the policy's modes.
    pub fn guard<N: Notifier>(&self, notifier: N, policy: Policy) -> Guard<SsoAdmin, IdentityStoreApi, N> {
        Guard::new(self.sso_port(), self.ids_port(), notifier, policy)
    }

    /// A guard on the recorded clients (retries without waiting), behind `gate`.
    pub fn guard_with_gate<N: Notifier, G: Gate>(
        &self,
        notifier: N,
        policy: Policy,
        gate: G,
    ) -> Guard<SsoAdmin, IdentityStoreApi, N, G> {
        Guard::with_gate(self.sso_port(), self.ids_port(), notifier, policy, gate)
    }

    fn sso_port(&self) -> SsoAdmin {
        SsoAdmin::new(self.recorded_sso(), RetryPolicy::immediate()).with_account_access(self.recorded_account_access())
    }

    fn ids_port(&self) -> IdentityStoreApi {
        IdentityStoreApi::new(self.recorded_ids(), RetryPolicy::immediate())
    }

    /// `policy` scoped to this instance and identity store.
    ///
    /// # Panics
    /// If the emulator's ids do not parse.
    pub fn scoped(&self, mut policy: Policy) -> Policy {
        policy.instance_arn = Some(InstanceArn::parse(&self.instance).expect("the emulator's instance ARN"));
        policy.identity_store_id = Some(IdentityStoreId::parse(&self.store).expect("the emulator's identity store id"));
        policy
    }

    /// The shipped `guardrail.toml`, scoped to this instance and identity store.
    ///
    /// # Panics
    /// If the shipped policy does not load.
    pub fn shipped_policy(&self) -> Policy {
        let path = repo_root().join("policy/guardrail.toml");
        self.scoped(Policy::load(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
    }

    /// The shipped policy file scoped to this instance and identity store, with `edit` applied to
    /// its text, in a temporary file named after `tag` (removed on drop).
    pub fn policy_file(&self, tag: &str, edit: impl Fn(String) -> String) -> PolicyFile {
        PolicyFile::scoped(tag, &self.instance, &self.store, edit)
    }

    /// Runs the `idc-guard` binary against this world, as an operator would: from `dir`, with
    /// `policy` (the file's text) as its policy, `env` added, and neither a state table nor a
    /// desired file taken from the caller's environment.
    ///
    /// # Panics
    /// If the policy cannot be written or the binary cannot be started.
    pub fn idc_guard(&self, dir: &Path, policy: &str, args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
        let file = dir.join("policy.toml");
        std::fs::write(&file, policy).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        std::process::Command::new(crate::idc_guard_bin())
            .args(args)
            .current_dir(dir)
            .envs(self.aws_env())
            .env("IDC_GUARD_POLICY", &file)
            .env_remove("IDC_GUARD_STATE_TABLE")
            .env_remove("IDC_GUARD_ASSIGNMENTS")
            .env_remove("AWS_PROFILE")
            .envs(env.iter().copied())
            .output()
            .unwrap_or_else(|e| panic!("cannot run idc-guard: {e}"))
    }

    /// The environment that points an AWS SDK (the CLI, a function) at the emulator, through the
    /// counting proxy if there is one.
    pub fn aws_env(&self) -> Vec<(&'static str, String)> {
        let endpoint = self
            .proxy
            .as_ref()
            .map_or_else(|| self.emulator.endpoint(), CountingProxy::endpoint);
        vec![
            ("AWS_ENDPOINT_URL", endpoint),
            ("AWS_REGION", REGION.to_owned()),
            ("AWS_ACCESS_KEY_ID", "testing".to_owned()),
            ("AWS_SECRET_ACCESS_KEY", "testing".to_owned()),
        ]
    }

    // ---- events about this world -----------------------------------------------------------

    /// The USER assignment event (`sso.CreateAccountAssignment-user-violation.json`) for `user`
    /// assigned `set` in `account`.
    pub fn user_assignment_event(&self, set: &str, account: &str, user: &str) -> Event {
        Event::user_assignment(&self.instance, set, account, user)
    }

    /// `fixture`, an event about one permission set, made about `set`.
    pub fn permission_set_event(&self, fixture: &str, set: &str) -> Event {
        Event::permission_set(fixture, &self.instance, set)
    }

    /// The hand-made membership event (`identitystore.CreateGroupMembership-violation.json`).
    pub fn membership_event(&self, group: &str, user: &str, membership: &str) -> Event {
        Event::membership(&self.store, group, user, membership)
    }

    // ---- seeding, also after the build -----------------------------------------------------

    /// Creates a permission set; its ARN.
    pub async fn create_permission_set(&self, set: &PermissionSet) -> String {
        set.create(&self.sso, &self.instance).await
    }

    /// Puts the [`BOUNDARY`] policy as the set's permissions boundary.
    pub async fn put_boundary(&self, set: &str) {
        put_boundary(&self.sso, &self.instance, set).await;
    }

    /// Removes the set's permissions boundary.
    ///
    /// # Panics
    /// If the call fails.
    pub async fn remove_boundary(&self, set: &str) {
        self.sso
            .delete_permissions_boundary_from_permission_set()
            .instance_arn(&self.instance)
            .permission_set_arn(set)
            .send()
            .await
            .unwrap_or_else(|e| panic!("DeletePermissionsBoundaryFromPermissionSet: {e:?}"));
    }

    /// Puts the set's inline policy.
    pub async fn put_inline_policy(&self, set: &str, policy: &str) {
        put_inline_policy(&self.sso, &self.instance, set, policy).await;
    }

    /// Attaches an AWS managed policy to the set.
    pub async fn attach_managed_policy(&self, set: &str, policy_arn: &str) {
        attach_managed_policy(&self.sso, &self.instance, set, policy_arn).await;
    }

    /// UpdatePermissionSet: the session duration, and the description and relay state given.
    ///
    /// # Panics
    /// If the call fails.
    pub async fn update_permission_set(
        &self,
        set: &str,
        duration: &str,
        description: Option<&str>,
        relay_state: Option<&str>,
    ) {
        self.sso
            .update_permission_set()
            .instance_arn(&self.instance)
            .permission_set_arn(set)
            .session_duration(duration)
            .set_description(description.map(str::to_owned))
            .set_relay_state(relay_state.map(str::to_owned))
            .send()
            .await
            .unwrap_or_else(|e| panic!("UpdatePermissionSet: {e:?}"));
    }

    /// Tags the set.
    ///
    /// # Panics
    /// If the call fails.
    pub async fn tag_permission_set(&self, set: &str, key: &str, value: &str) {
        self.sso
            .tag_resource()
            .instance_arn(&self.instance)
            .resource_arn(set)
            .tags(Tag::builder().key(key).value(value).build().expect("a tag"))
            .send()
            .await
            .unwrap_or_else(|e| panic!("TagResource: {e:?}"));
    }

    /// Creates the instance's ABAC configuration: (key, source) pairs.
    ///
    /// # Panics
    /// If the call fails.
    pub async fn create_abac(&self, attributes: &[(&str, &str)]) {
        self.sso
            .create_instance_access_control_attribute_configuration()
            .instance_arn(&self.instance)
            .instance_access_control_attribute_configuration(abac(attributes))
            .send()
            .await
            .unwrap_or_else(|e| panic!("CreateInstanceAccessControlAttributeConfiguration: {e:?}"));
    }

    /// Replaces the instance's ABAC configuration.
    ///
    /// # Panics
    /// If the call fails.
    pub async fn update_abac(&self, attributes: &[(&str, &str)]) {
        self.sso
            .update_instance_access_control_attribute_configuration()
            .instance_arn(&self.instance)
            .instance_access_control_attribute_configuration(abac(attributes))
            .send()
            .await
            .unwrap_or_else(|e| panic!("UpdateInstanceAccessControlAttributeConfiguration: {e:?}"));
    }

    /// CreateAccountAssignment.
    ///
    /// # Panics
    /// If the call fails.
    pub async fn assign(&self, account: &str, set: &str, kind: PrincipalType, principal: &str) {
        self.sso
            .create_account_assignment()
            .instance_arn(&self.instance)
            .target_id(account)
            .target_type(TargetType::AwsAccount)
            .permission_set_arn(set)
            .principal_type(kind)
            .principal_id(principal)
            .send()
            .await
            .unwrap_or_else(|e| panic!("CreateAccountAssignment: {e:?}"));
    }

    /// DeleteAccountAssignment.
    ///
    /// # Panics
    /// If the call fails.
    pub async fn unassign(&self, account: &str, set: &str, kind: PrincipalType, principal: &str) {
        self.sso
            .delete_account_assignment()
            .instance_arn(&self.instance)
            .target_id(account)
            .target_type(TargetType::AwsAccount)
            .permission_set_arn(set)
            .principal_type(kind)
            .principal_id(principal)
            .send()
            .await
            .unwrap_or_else(|e| panic!("DeleteAccountAssignment: {e:?}"));
    }

    /// The set's inline policy as the emulator stores it (empty: none).
    ///
    /// # Panics
    /// If the call fails.
    pub async fn inline_policy(&self, set: &str) -> String {
        self.sso
            .get_inline_policy_for_permission_set()
            .instance_arn(&self.instance)
            .permission_set_arn(set)
            .send()
            .await
            .unwrap_or_else(|e| panic!("GetInlinePolicyForPermissionSet: {e:?}"))
            .inline_policy()
            .unwrap_or_default()
            .to_owned()
    }

    /// How many assignments of the set there are in the account (one page).
    ///
    /// # Panics
    /// If the call fails.
    pub async fn count_assignments(&self, account: &str, set: &str) -> usize {
        self.sso
            .list_account_assignments()
            .instance_arn(&self.instance)
            .account_id(account)
            .permission_set_arn(set)
            .send()
            .await
            .unwrap_or_else(|e| panic!("ListAccountAssignments: {e:?}"))
            .account_assignments()
            .len()
    }

    /// Creates a group; its id.
    ///
    /// # Panics
    /// If the call fails.
    pub async fn create_group(&self, name: &str) -> String {
        self.ids
            .create_group()
            .identity_store_id(&self.store)
            .display_name(name)
            .send()
            .await
            .unwrap_or_else(|e| panic!("CreateGroup {name}: {e:?}"))
            .group_id()
            .to_owned()
    }

    /// Creates a user; its id.
    ///
    /// # Panics
    /// If the call fails.
    pub async fn create_user(&self, user: &User) -> String {
        self.ids
            .create_user()
            .identity_store_id(&self.store)
            .user_name(&user.user_name)
            .display_name(&user.display_name)
            .name(
                Name::builder()
                    .given_name(&user.given_name)
                    .family_name(&user.family_name)
                    .build(),
            )
            .send()
            .await
            .unwrap_or_else(|e| panic!("CreateUser {}: {e:?}", user.user_name))
            .user_id()
            .to_owned()
    }

    /// Makes the user (by id) a member of the group (by id); the membership's id.
    ///
    /// # Panics
    /// If the call fails.
    pub async fn add_member(&self, group: &str, user: &str) -> String {
        self.ids
            .create_group_membership()
            .identity_store_id(&self.store)
            .group_id(group)
            .member_id(MemberId::UserId(user.to_owned()))
            .send()
            .await
            .unwrap_or_else(|e| panic!("CreateGroupMembership: {e:?}"))
            .membership_id()
            .to_owned()
    }

    /// Creates the organisation (all features); its root's id.
    ///
    /// # Panics
    /// If a call fails.
    pub async fn create_organization(&self) -> String {
        self.orgs
            .create_organization()
            .feature_set(aws_sdk_organizations::types::OrganizationFeatureSet::All)
            .send()
            .await
            .unwrap_or_else(|e| panic!("CreateOrganization: {e:?}"));
        let roots = self
            .orgs
            .list_roots()
            .send()
            .await
            .unwrap_or_else(|e| panic!("ListRoots: {e:?}"));
        roots.roots()[0].id().expect("the root has an id").to_owned()
    }

    /// Creates a member account named `name`; its id.
    ///
    /// # Panics
    /// If the call fails.
    pub async fn create_account(&self, name: &str) -> String {
        self.orgs
            .create_account()
            .email(format!("{name}@example.com"))
            .account_name(name)
            .send()
            .await
            .unwrap_or_else(|e| panic!("CreateAccount {name}: {e:?}"))
            .create_account_status()
            .and_then(|s| s.account_id())
            .expect("the new account has an id")
            .to_owned()
    }

    /// Creates an OU under `parent`; its id.
    ///
    /// # Panics
    /// If the call fails.
    pub async fn create_ou(&self, parent: &str, name: &str) -> String {
        self.orgs
            .create_organizational_unit()
            .parent_id(parent)
            .name(name)
            .send()
            .await
            .unwrap_or_else(|e| panic!("CreateOrganizationalUnit {name}: {e:?}"))
            .organizational_unit()
            .and_then(|ou| ou.id())
            .expect("the new OU has an id")
            .to_owned()
    }

    /// Moves an account from `from` to `to` (OU or root ids).
    ///
    /// # Panics
    /// If the call fails.
    pub async fn move_account(&self, account: &str, from: &str, to: &str) {
        self.orgs
            .move_account()
            .account_id(account)
            .source_parent_id(from)
            .destination_parent_id(to)
            .send()
            .await
            .unwrap_or_else(|e| panic!("MoveAccount {account}: {e:?}"));
    }

    /// Creates a safety rails' state table as deployed (see [`emulator::create_state_table`]).
    pub async fn create_state_table(&self, name: &str) {
        emulator::create_state_table(&self.ddb, name).await;
    }

    /// Sets the kill switch parameter [`KILL_SWITCH`].
    pub async fn set_kill_switch(&self, value: &str) {
        emulator::set_kill_switch(&self.ssm, KILL_SWITCH, value).await;
    }

    /// Creates the findings topic; its ARN.
    ///
    /// # Panics
    /// If the call fails.
    pub async fn create_topic(&self) -> String {
        self.sns
            .create_topic()
            .name(FINDINGS_TOPIC)
            .send()
            .await
            .unwrap_or_else(|e| panic!("CreateTopic: {e:?}"))
            .topic_arn
            .expect("the new topic has an ARN")
    }

    /// Creates the queue `name` and subscribes it to the findings topic, with `filter` as its
    /// filter policy if given; the queue's URL.
    ///
    /// # Panics
    /// If there is no topic or a call fails.
    pub async fn subscribe_queue(&self, name: &str, filter: Option<&Value>) -> String {
        let url = self
            .sqs
            .create_queue()
            .queue_name(name)
            .send()
            .await
            .unwrap_or_else(|e| panic!("CreateQueue {name}: {e:?}"))
            .queue_url
            .expect("the new queue has a URL");
        let mut subscribe = self
            .sns
            .subscribe()
            .topic_arn(self.topic_arn())
            .protocol("sqs")
            .endpoint(format!("arn:aws:sqs:{REGION}:{EMULATOR_ACCOUNT}:{name}"));
        if let Some(filter) = filter {
            subscribe = subscribe.attributes("FilterPolicy", filter.to_string());
        }
        subscribe
            .send()
            .await
            .unwrap_or_else(|e| panic!("Subscribe {name}: {e:?}"));
        url
    }

    /// The messages waiting in a queue (up to 10), each body parsed as JSON: for a queue
    /// subscribed to the topic, the SNS envelopes.
    ///
    /// # Panics
    /// If the call fails or a body is not JSON.
    pub async fn received(&self, queue_url: &str) -> Vec<Value> {
        let out = self
            .sqs
            .receive_message()
            .queue_url(queue_url)
            .max_number_of_messages(10)
            .send()
            .await
            .unwrap_or_else(|e| panic!("ReceiveMessage: {e:?}"));
        out.messages()
            .iter()
            .map(|m| serde_json::from_str(m.body().unwrap_or_default()).expect("a JSON message body"))
            .collect()
    }

    /// What moto says was published to the findings topic: (subject, message, attributes) each
    /// (see [`Emulator::published`]).
    pub fn published(&self) -> Vec<(String, Value, Value)> {
        self.emulator.published(self.topic_arn())
    }
}

fn lookup<'a>(list: &'a [(String, String)], name: &str, what: &str) -> &'a str {
    list.iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
        .unwrap_or_else(|| panic!("the world has no {what} named {name}"))
}

async fn put_boundary(sso: &aws_sdk_ssoadmin::Client, instance: &str, set: &str) {
    let reference = CustomerManagedPolicyReference::builder()
        .name(BOUNDARY)
        .path("/")
        .build()
        .expect("a policy reference");
    sso.put_permissions_boundary_to_permission_set()
        .instance_arn(instance)
        .permission_set_arn(set)
        .permissions_boundary(
            PermissionsBoundary::builder()
                .customer_managed_policy_reference(reference)
                .build(),
        )
        .send()
        .await
        .unwrap_or_else(|e| panic!("PutPermissionsBoundaryToPermissionSet: {e:?}"));
}

async fn put_inline_policy(sso: &aws_sdk_ssoadmin::Client, instance: &str, set: &str, policy: &str) {
    sso.put_inline_policy_to_permission_set()
        .instance_arn(instance)
        .permission_set_arn(set)
        .inline_policy(policy)
        .send()
        .await
        .unwrap_or_else(|e| panic!("PutInlinePolicyToPermissionSet: {e:?}"));
}

async fn attach_managed_policy(sso: &aws_sdk_ssoadmin::Client, instance: &str, set: &str, policy_arn: &str) {
    sso.attach_managed_policy_to_permission_set()
        .instance_arn(instance)
        .permission_set_arn(set)
        .managed_policy_arn(policy_arn)
        .send()
        .await
        .unwrap_or_else(|e| panic!("AttachManagedPolicyToPermissionSet: {e:?}"));
}

/// An ABAC configuration of (key, source) pairs.
fn abac(attributes: &[(&str, &str)]) -> InstanceAccessControlAttributeConfiguration {
    let attribute = |(key, source): &(&str, &str)| {
        AccessControlAttribute::builder()
            .key(*key)
            .value(
                AccessControlAttributeValue::builder()
                    .source(*source)
                    .build()
                    .expect("an attribute value"),
            )
            .build()
            .expect("an attribute")
    };
    InstanceAccessControlAttributeConfiguration::builder()
        .set_access_control_attributes(Some(attributes.iter().map(attribute).collect()))
        .build()
        .expect("an ABAC configuration")
}

/// A fixture from `events/` with fields replaced: what EventBridge would deliver about a change
/// made in a [`World`]. Its `Display` is the compact JSON a guard is given.
#[derive(Debug, Clone)]
#[must_use]
pub struct Event(Value);

impl Event {
    /// `events/<name>` as it is.
    ///
    /// # Panics
    /// If the fixture cannot be read or is not JSON.
    pub fn fixture(name: &str) -> Event {
        let path = repo_root().join("events").join(name);
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        Event(serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
    }

    /// With the field of `detail` at a dotted `path` (`requestParameters.targetId`) set to
    /// `value`, created if missing.
    pub fn with(mut self, path: &str, value: Value) -> Event {
        let mut node = &mut self.0["detail"];
        for key in path.split('.') {
            node = &mut node[key];
        }
        *node = value;
        self
    }

    /// With the EventBridge envelope's `id`.
    pub fn envelope(mut self, id: &str) -> Event {
        self.0["id"] = json!(id);
        self
    }

    /// The USER assignment event for `user` assigned `set` in `account` of `instance`.
    pub fn user_assignment(instance: &str, set: &str, account: &str, user: &str) -> Event {
        Event::fixture("sso.CreateAccountAssignment-user-violation.json")
            .with("requestParameters.instanceArn", json!(instance))
            .with("requestParameters.permissionSetArn", json!(set))
            .with("requestParameters.targetId", json!(account))
            .with("requestParameters.principalId", json!(user))
    }

    /// The GROUP assignment event (compliant on its face) for `group` assigned `set` in
    /// `account` of `instance`.
    pub fn group_assignment(instance: &str, set: &str, account: &str, group: &str) -> Event {
        Event::fixture("sso.CreateAccountAssignment-group-compliant.json")
            .with("requestParameters.instanceArn", json!(instance))
            .with("requestParameters.permissionSetArn", json!(set))
            .with("requestParameters.targetId", json!(account))
            .with("requestParameters.principalId", json!(group))
    }

    /// `fixture`, an event about one permission set, made about `set` of `instance`.
    pub fn permission_set(fixture: &str, instance: &str, set: &str) -> Event {
        Event::fixture(fixture)
            .with("requestParameters.instanceArn", json!(instance))
            .with("requestParameters.permissionSetArn", json!(set))
    }

    /// The event of a hand-made membership of `user` in `group`.
    pub fn membership(store: &str, group: &str, user: &str, membership: &str) -> Event {
        Event::fixture("identitystore.CreateGroupMembership-violation.json")
            .with("requestParameters.identityStoreId", json!(store))
            .with("requestParameters.groupId", json!(group))
            .with("requestParameters.memberId", json!({ "userId": user }))
            .with("responseElements.membershipId", json!(membership))
            .with("responseElements.identityStoreId", json!(store))
    }

    /// The JSON.
    pub fn json(&self) -> &Value {
        &self.0
    }
}

impl std::fmt::Display for Event {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// A fixture with fields of `detail` replaced (paths like `requestParameters.targetId`), as JSON
/// text.
pub fn event(fixture: &str, edits: &[(&str, Value)]) -> String {
    edits
        .iter()
        .fold(Event::fixture(fixture), |e, (path, value)| e.with(path, value.clone()))
        .to_string()
}

/// The shipped policy scoped to an instance and identity store (plus an edit), in a temporary
/// file removed on drop: what a function or the CLI is given as `IDC_GUARD_POLICY`.
#[derive(Debug)]
pub struct PolicyFile(PathBuf);

/// The shipped policy's commented-out `[instance]` keys, which [`PolicyFile::scoped`] sets.
const UNSCOPED: &str =
    "# arn = \"arn:aws:sso:::instance/ssoins-0123456789abcdef\"\n# identity_store_id = \"d-0123456789\"";

impl PolicyFile {
    /// `policy/guardrail.toml` with its `[instance]` set to `instance` and `store`, then `edit`
    /// applied, written to `$TMPDIR/idc-guard-<tag>-<pid>.toml`.
    ///
    /// # Panics
    /// If the shipped policy no longer has the commented-out `[instance]` keys, or the file
    /// cannot be written.
    pub fn scoped(tag: &str, instance: &str, store: &str, edit: impl Fn(String) -> String) -> PolicyFile {
        let path = std::env::temp_dir().join(format!("idc-guard-{tag}-{}.toml", std::process::id()));
        let shipped = std::fs::read_to_string(repo_root().join("policy/guardrail.toml")).expect("the shipped policy");
        let scoped = shipped.replace(
            UNSCOPED,
            &format!("arn = \"{instance}\"\nidentity_store_id = \"{store}\""),
        );
        assert_ne!(scoped, shipped, "the shipped policy's [instance] lines changed");
        std::fs::write(&path, edit(scoped)).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        PolicyFile(path)
    }

    /// Where it is.
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for PolicyFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// `policy` (a policy file's text) with the `mode` of `[rules.<rule>]` set to `mode`.
///
/// # Panics
/// If the rule's table has no `mode` line.
pub fn with_rule_mode(policy: &str, rule: &str, mode: &str) -> String {
    let header = format!("[rules.{rule}]");
    let mut lines: Vec<String> = policy.lines().map(str::to_owned).collect();
    let start = lines
        .iter()
        .position(|l| l.trim() == header)
        .unwrap_or_else(|| panic!("the policy has no {header}"));
    let line = lines[start + 1..]
        .iter()
        .take_while(|l| !l.trim_start().starts_with('['))
        .position(|l| l.trim_start().starts_with("mode ="))
        .map(|i| start + 1 + i)
        .unwrap_or_else(|| panic!("{header} has no mode"));
    lines[line] = format!("mode = \"{mode}\"");
    lines.join("\n") + if policy.ends_with('\n') { "\n" } else { "" }
}
