//! The permission table: who may do what to a project. This is the one place that decides;
//! `docs/SECURITY.md` prints the same table for people.
//!
//! Deciding is split in two. [`crate::auth::Authenticator::standing`] looks up where a
//! principal stands in one project (its member level, whether its token belongs to the
//! project, whether the project's job-token allowlist names its job's project); that needs
//! Redis. [`permits`] then reads the table, and needs nothing but its arguments, so the
//! whole table is unit-tested below and walked over HTTP by the integration tests.

use crate::error::ApiError;
use crate::model::access;

/// What a request wants to do to one project: the rows of the table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// See that the project exists (`GET /projects/:id`): anyone who may do anything here.
    View,
    /// Download, list, details, metadata of packages.
    ReadPackages,
    /// Publish package files, set metadata.
    PublishPackages,
    /// Disable, recycle, restore, purge, delete files, package settings, revoke others'
    /// share links.
    ManagePackages,
    /// Create share links (and list them, and revoke one's own): people, not machines.
    CreateShare,
    /// Jobs, pipelines, artifacts (archive, single file, by ref, entries).
    ReadCi,
    /// Create and end pipelines and jobs, `keep` artifacts.
    AdministerCi,
    /// End one job: CI administrators, or that job's own token.
    EndJob { job_id: u64 },
    /// Upload the artifacts of one job: only that job's own token.
    UploadArtifacts { job_id: u64 },
    /// Delete a job's or the whole project's artifacts.
    DeleteArtifacts,
    /// Members, deploy tokens, the job-token allowlist, project settings.
    AdministerProject,
    /// Delete the project itself.
    DeleteProject,
}

/// Where a principal stands in one project, as far as the table cares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Standing {
    /// No token at all.
    Anonymous,
    /// The instance administrator; `read_only` through a `read_api` token.
    Admin { read_only: bool },
    /// A user and their member level here (`None`: not a member).
    User { level: Option<u8>, read_only: bool },
    /// A deploy token of this project.
    Deploy { read: bool, write: bool },
    /// The token of a running job of this project.
    OwnJob { job_id: u64 },
    /// The token of a running job of a project this project's allowlist names.
    AllowedJob,
    /// Signed in, but bound to another project: a deploy token of another project, or a
    /// job token of a project the allowlist does not name. It acts as anonymous would,
    /// except that a private project answers 404 rather than 401.
    Foreign,
}

/// Why a request is refused. `Hidden` is a project the caller may not know exists.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    Unauthorized,
    Hidden,
    Forbidden,
}

impl From<Refusal> for ApiError {
    fn from(r: Refusal) -> Self {
        match r {
            Refusal::Unauthorized => ApiError::Unauthorized,
            Refusal::Hidden => ApiError::ProjectNotFound,
            Refusal::Forbidden => ApiError::Forbidden,
        }
    }
}

/// May a principal standing `who` do `action` on a project that is `public` or not?
pub fn permits(who: Standing, action: Action, public: bool) -> Result<(), Refusal> {
    use Action::*;
    let read = matches!(action, View | ReadPackages | ReadCi);
    let allowed = |yes: bool| if yes { Ok(()) } else { Err(Refusal::Forbidden) };
    match who {
        Standing::Admin { read_only } => allowed(read || !read_only),
        Standing::Anonymous => {
            if public && read {
                Ok(())
            } else {
                Err(Refusal::Unauthorized)
            }
        }
        Standing::Foreign => match (public, read) {
            (true, true) => Ok(()),
            (true, false) => Err(Refusal::Forbidden),
            (false, _) => Err(Refusal::Hidden),
        },
        Standing::User { level: None, .. } if !public => Err(Refusal::Hidden),
        Standing::User { level, read_only } => {
            let needed = match action {
                // Any member sees the project; guests read nothing in a private one.
                View => 0,
                ReadPackages | ReadCi if public => 0,
                ReadPackages | ReadCi => access::REPORTER,
                PublishPackages | CreateShare | AdministerCi | EndJob { .. } => access::DEVELOPER,
                ManagePackages | DeleteArtifacts | AdministerProject => access::MAINTAINER,
                DeleteProject => access::OWNER,
                // Only a job's own token uploads its artifacts.
                UploadArtifacts { .. } => return Err(Refusal::Forbidden),
            };
            allowed((read || !read_only) && level.unwrap_or(0) >= needed)
        }
        Standing::Deploy { read: can_read, write } => allowed(match action {
            View => true,
            ReadPackages => can_read,
            PublishPackages => write,
            _ => false,
        }),
        Standing::OwnJob { job_id } => allowed(match action {
            View | ReadPackages | PublishPackages | ReadCi => true,
            EndJob { job_id: j } | UploadArtifacts { job_id: j } => j == job_id,
            _ => false,
        }),
        Standing::AllowedJob => allowed(read),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Action::*;

    const OK: Result<(), Refusal> = Ok(());
    const FORBIDDEN: Result<(), Refusal> = Err(Refusal::Forbidden);
    const HIDDEN: Result<(), Refusal> = Err(Refusal::Hidden);
    const UNAUTHORIZED: Result<(), Refusal> = Err(Refusal::Unauthorized);

    fn user(level: u8) -> Standing {
        Standing::User { level: Some(level), read_only: false }
    }

    #[test]
    fn ci_administration_is_for_developers_and_up_never_for_machine_tokens() {
        for who in [user(access::DEVELOPER), user(access::MAINTAINER), user(access::OWNER)] {
            assert_eq!(permits(who, AdministerCi, false), OK, "{who:?}");
        }
        for who in [
            user(access::REPORTER),
            Standing::User { level: Some(access::OWNER), read_only: true },
            Standing::Deploy { read: true, write: true },
            Standing::OwnJob { job_id: 1 },
            Standing::AllowedJob,
        ] {
            assert_eq!(permits(who, AdministerCi, false), FORBIDDEN, "{who:?}");
        }
    }

    #[test]
    fn a_job_token_acts_only_for_its_own_job() {
        let job = Standing::OwnJob { job_id: 7 };
        assert_eq!(permits(job, EndJob { job_id: 7 }, false), OK);
        assert_eq!(permits(job, EndJob { job_id: 8 }, false), FORBIDDEN);
        assert_eq!(permits(job, UploadArtifacts { job_id: 7 }, false), OK);
        assert_eq!(permits(job, UploadArtifacts { job_id: 8 }, false), FORBIDDEN);
        assert_eq!(permits(job, PublishPackages, false), OK);
        assert_eq!(permits(job, ReadCi, false), OK);
        for action in [ManagePackages, DeleteArtifacts, AdministerProject, DeleteProject, AdministerCi] {
            assert_eq!(permits(job, action, false), FORBIDDEN, "{action:?}");
        }
        // No user uploads a job's artifacts, whatever their role.
        assert_eq!(permits(user(access::OWNER), UploadArtifacts { job_id: 7 }, false), FORBIDDEN);
    }

    #[test]
    fn deploy_tokens_touch_packages_only_within_their_scopes() {
        let read = Standing::Deploy { read: true, write: false };
        let write = Standing::Deploy { read: false, write: true };
        assert_eq!(permits(read, ReadPackages, false), OK);
        assert_eq!(permits(read, PublishPackages, false), FORBIDDEN);
        assert_eq!(permits(write, PublishPackages, false), OK);
        assert_eq!(permits(write, ReadPackages, false), FORBIDDEN);
        for who in [read, write] {
            assert_eq!(permits(who, ReadCi, false), FORBIDDEN);
            assert_eq!(permits(who, AdministerCi, false), FORBIDDEN);
            assert_eq!(permits(who, View, false), OK);
        }
    }

    #[test]
    fn strangers_and_foreign_tokens_see_public_projects_only() {
        for who in [Standing::Foreign, Standing::User { level: None, read_only: false }] {
            assert_eq!(permits(who, ReadPackages, false), HIDDEN, "{who:?}");
            assert_eq!(permits(who, ReadCi, true), OK, "{who:?}");
            assert_eq!(permits(who, PublishPackages, true), FORBIDDEN, "{who:?}");
        }
        assert_eq!(permits(Standing::Anonymous, ReadPackages, false), UNAUTHORIZED);
        assert_eq!(permits(Standing::Anonymous, ReadPackages, true), OK);
        assert_eq!(permits(Standing::Anonymous, PublishPackages, true), UNAUTHORIZED);
        assert_eq!(permits(Standing::AllowedJob, ReadPackages, false), OK);
        assert_eq!(permits(Standing::AllowedJob, ReadCi, false), OK);
        assert_eq!(permits(Standing::AllowedJob, PublishPackages, false), FORBIDDEN);
    }

    #[test]
    fn roles_climb_the_table() {
        let cases = [
            (ReadPackages, access::REPORTER),
            (ReadCi, access::REPORTER),
            (PublishPackages, access::DEVELOPER),
            (ManagePackages, access::MAINTAINER),
            (DeleteArtifacts, access::MAINTAINER),
            (AdministerProject, access::MAINTAINER),
            (DeleteProject, access::OWNER),
        ];
        for (action, needed) in cases {
            for level in access::ALL {
                let want = if level >= needed { OK } else { FORBIDDEN };
                assert_eq!(permits(user(level), action, false), want, "{action:?} at {level}");
            }
            assert_eq!(permits(Standing::Admin { read_only: false }, action, false), OK);
        }
        assert_eq!(permits(user(access::GUEST), View, false), OK, "a guest sees the project");
        assert_eq!(permits(Standing::Admin { read_only: true }, ManagePackages, false), FORBIDDEN);
    }
}
