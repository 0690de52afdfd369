"""python-gitlab (pinned in scripts/deps.sh) driving a live arca through its documented recipes.

Run by tests/tests/it/clients.rs, which starts the stack and passes ARCA_URL (the gateway) and
ARCA_ADMIN_TOKEN. Each test is one recipe from python-gitlab's documentation
(https://python-gitlab.readthedocs.io/en/stable/gl_objects/): generic packages, the Packages
API, job artifacts, and the management API an administrator scripts against. The calls are the
documented ones, unchanged; only what python-gitlab has no call for (starting a pipeline and a
job, which GitLab's CI does and arca's API does for it, and the runner's artifact upload) goes
through plain HTTP.
"""

import io
import os
import unittest
import uuid
import zipfile

import gitlab
import requests

URL = os.environ["ARCA_URL"]
ADMIN = os.environ["ARCA_ADMIN_TOKEN"]


def admin() -> gitlab.Gitlab:
    return gitlab.Gitlab(URL, private_token=ADMIN)


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def zip_of(files: dict) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in files.items():
            z.writestr(name, data)
    return out.getvalue()


class Setup:
    """A user with a token, and a project of theirs, made the python-gitlab way."""

    def __init__(self) -> None:
        self.admin = admin()
        name = unique("user")
        self.user = self.admin.users.create({"username": name, "email": f"{name}@example.com", "name": name})
        token = self.user.personal_access_tokens.create({"name": "recipes", "scopes": ["api"]})
        self.token = token.token
        self.gl = gitlab.Gitlab(URL, private_token=self.token)
        self.project = self.gl.projects.create({"name": unique("project")})

    def job_with_artifacts(self, ref: str, name: str, archive: bytes) -> int:
        """A finished job of a successful pipeline that left `archive`: arca's CI API and
        the runner's upload, which python-gitlab has no calls for."""
        api = f"{URL}/api/v4/projects/{self.project.id}"
        auth = {"PRIVATE-TOKEN": self.token}
        pipeline = requests.post(f"{api}/pipelines", json={"ref": ref}, headers=auth, timeout=30).json()
        job = requests.post(f"{api}/pipelines/{pipeline['id']}/jobs", json={"name": name}, headers=auth, timeout=30)
        job = job.json()
        up = requests.post(
            f"{URL}/api/v4/jobs/{job['id']}/artifacts",
            params={"artifact_format": "zip", "artifact_type": "archive", "expire_in": "1 week"},
            files={"file": ("artifacts.zip", archive, "application/octet-stream")},
            headers={"JOB-TOKEN": job["token"]},
            timeout=30,
        )
        assert up.status_code == 201, up.text
        for what, path in (("job", f"jobs/{job['id']}"), ("pipeline", f"pipelines/{pipeline['id']}")):
            done = requests.put(f"{api}/{path}", json={"status": "success"}, headers=auth, timeout=30)
            assert done.status_code == 200, f"{what}: {done.text}"
        return job["id"]


class GenericPackages(unittest.TestCase):
    """gl_objects/packages: "Upload a generic package", "Download a generic package"."""

    def test_upload_and_download(self) -> None:
        s = Setup()
        package = s.project.generic_packages.upload(
            package_name="hello-world", package_version="v1.0", file_name="hello.tar.gz", data=b"hello, world"
        )
        self.assertEqual(package.package_name, "hello-world")
        self.assertEqual(package.message, "201 Created")
        data = s.project.generic_packages.download(
            package_name="hello-world", package_version="v1.0", file_name="hello.tar.gz"
        )
        self.assertEqual(data, b"hello, world")
        # Streamed, as the docs show for large files.
        chunks = []
        s.project.generic_packages.download(
            package_name="hello-world",
            package_version="v1.0",
            file_name="hello.tar.gz",
            streamed=True,
            action=chunks.append,
        )
        self.assertEqual(b"".join(chunks), b"hello, world")

    def test_upload_from_a_path(self) -> None:
        s = Setup()
        path = os.path.join(os.environ.get("TMPDIR", "/tmp"), unique("pkg"))
        with open(path, "wb") as f:
            f.write(b"\x00\x01" * 50_000)
        try:
            s.project.generic_packages.upload(
                package_name="bin", package_version="2.0.0", file_name="tool.bin", path=path
            )
        finally:
            os.remove(path)
        data = s.project.generic_packages.download(package_name="bin", package_version="2.0.0", file_name="tool.bin")
        self.assertEqual(data, b"\x00\x01" * 50_000)

    def test_a_bad_name_raises_the_upload_error(self) -> None:
        s = Setup()
        with self.assertRaises(gitlab.exceptions.GitlabUploadError) as caught:
            s.project.generic_packages.upload(
                package_name="bad name", package_version="1.0", file_name="f", data=b"x"
            )
        self.assertEqual(caught.exception.response_code, 400)


class PackagesApi(unittest.TestCase):
    """gl_objects/packages: list, get, package files, delete."""

    def test_list_get_files_and_delete(self) -> None:
        s = Setup()
        for version in ("1.0.0", "1.1.0"):
            for name in ("a.txt", "b.txt"):
                s.project.generic_packages.upload(
                    package_name="lib", package_version=version, file_name=name, data=name.encode()
                )
        packages = s.project.packages.list(get_all=True)
        self.assertEqual(sorted(p.version for p in packages), ["1.0.0", "1.1.0"])
        filtered = s.project.packages.list(package_name="lib", package_type="generic", get_all=True)
        self.assertEqual(len(filtered), 2)
        package = s.project.packages.get(packages[0].id)
        self.assertEqual(package.name, "lib")
        files = package.package_files.list(get_all=True)
        self.assertEqual(sorted(f.file_name for f in files), ["a.txt", "b.txt"])
        self.assertTrue(all(len(f.file_sha256) == 64 for f in files))
        # Pagination as python-gitlab walks it: page by page, following the headers.
        pages = list(s.project.packages.list(per_page=1, iterator=True))
        self.assertEqual(len(pages), 2)
        files[0].delete()
        self.assertEqual(len(package.package_files.list(get_all=True)), 1)
        package.delete()
        self.assertEqual(len(s.project.packages.list(get_all=True)), 1)
        with self.assertRaises(gitlab.exceptions.GitlabGetError) as caught:
            s.project.packages.get(package.id)
        self.assertEqual(caught.exception.response_code, 404)


class JobArtifacts(unittest.TestCase):
    """gl_objects/pipelines_and_jobs: "Get the artifacts of a job" and the calls around it."""

    def test_the_artifacts_recipes(self) -> None:
        s = Setup()
        archive = zip_of({"out/report.txt": "all green\n", "bin/tool": "#!/bin/sh\n"})
        job_id = s.job_with_artifacts("main", "build", archive)

        job = s.project.jobs.get(job_id)
        self.assertEqual((job.name, job.status, job.ref), ("build", "success", "main"))
        self.assertEqual(job.artifacts_file["filename"], "artifacts.zip")
        # `job.artifacts` is the download method; the field is read through `attributes`.
        self.assertEqual([a["file_type"] for a in job.attributes["artifacts"]], ["archive"])
        self.assertEqual(job.artifacts(), archive)
        target = io.BytesIO()
        job.artifacts(streamed=True, action=target.write)
        self.assertEqual(target.getvalue(), archive)
        self.assertEqual(job.artifact("out/report.txt"), b"all green\n")
        self.assertEqual(s.project.artifacts.download(ref_name="main", job="build"), archive)
        self.assertEqual(s.project.artifacts.raw("main", "out/report.txt", "build"), b"all green\n")

        jobs = s.project.jobs.list(get_all=True)
        self.assertEqual([j.id for j in jobs], [job_id])
        self.assertEqual(len(s.project.jobs.list(scope=["failed"], get_all=True)), 0)
        pipelines = s.project.pipelines.list(ref="main", status="success", get_all=True)
        self.assertEqual(len(pipelines), 1)
        self.assertEqual([j.id for j in pipelines[0].jobs.list(get_all=True)], [job_id])

        job.keep_artifacts()
        self.assertIsNone(s.project.jobs.get(job_id).artifacts_expire_at)
        job.delete_artifacts()
        with self.assertRaises(gitlab.exceptions.GitlabGetError) as caught:
            job.artifacts()
        self.assertEqual(caught.exception.response_code, 404)
        s.project.artifacts.delete()


class Management(unittest.TestCase):
    """gl_objects/users, personal_access_tokens, projects, project members, deploy tokens."""

    def test_users(self) -> None:
        gl = admin()
        s = Setup()
        found = gl.users.list(username=s.user.username)
        self.assertEqual([u.id for u in found], [s.user.id])
        self.assertEqual([u.id for u in gl.users.list(search=s.user.username[:9], get_all=True)], [s.user.id])
        user = gl.users.get(s.user.id)
        self.assertEqual(user.state, "active")
        self.assertTrue(user.block())
        with self.assertRaises(gitlab.exceptions.GitlabAuthenticationError):
            s.gl.auth()
        self.assertTrue(user.unblock())
        s.gl.auth()
        self.assertEqual(s.gl.user.username, s.user.username)
        # The current user's own token, and deleting a user.
        own = s.gl.personal_access_tokens.get("self")
        self.assertEqual((own.user_id, own.scopes), (s.user.id, ["api"]))
        self.assertEqual(gl.personal_access_tokens.get(own.id).name, "recipes")
        self.assertEqual([t.id for t in gl.personal_access_tokens.list(user_id=s.user.id, get_all=True)], [own.id])
        gl.users.delete(s.user.id)
        with self.assertRaises(gitlab.exceptions.GitlabAuthenticationError):
            s.gl.auth()
        with self.assertRaises(gitlab.exceptions.GitlabGetError):
            gl.users.get(s.user.id)

    def test_revoking_a_token(self) -> None:
        s = Setup()
        token = s.gl.personal_access_tokens.get("self")
        token.delete()
        with self.assertRaises(gitlab.exceptions.GitlabAuthenticationError):
            s.gl.auth()

    def test_projects_members_and_deploy_tokens(self) -> None:
        gl = admin()
        s = Setup()
        other = Setup()
        project = s.gl.projects.get(s.project.id)
        project.description = "built by the recipes"
        project.visibility = "public"
        project.save()
        self.assertEqual(gl.projects.get(project.id).description, "built by the recipes")
        self.assertEqual(gitlab.Gitlab(URL).projects.get(project.id).visibility, "public")

        member = project.members.create({"user_id": other.user.id, "access_level": gitlab.const.AccessLevel.DEVELOPER})
        self.assertEqual(member.access_level, 30)
        member = project.members.get(other.user.id)
        member.access_level = gitlab.const.AccessLevel.MAINTAINER
        member.save()
        self.assertEqual(project.members.get(other.user.id).access_level, 40)
        self.assertIn(other.user.id, [m.id for m in project.members.list(get_all=True)])
        member.delete()
        self.assertNotIn(other.user.id, [m.id for m in project.members.list(get_all=True)])

        deploy = project.deploytokens.create({"name": "ci", "scopes": ["read_package_registry"]})
        self.assertTrue(deploy.token)
        self.assertEqual([t.id for t in project.deploytokens.list(get_all=True)], [deploy.id])
        self.assertEqual(project.deploytokens.get(deploy.id).name, "ci")
        project.generic_packages.upload(package_name="p", package_version="1", file_name="f", data=b"f")
        reader = gitlab.Gitlab(URL, private_token=deploy.token)
        self.assertEqual(
            reader.projects.get(project.id, lazy=True).generic_packages.download(
                package_name="p", package_version="1", file_name="f"
            ),
            b"f",
        )
        project.deploytokens.delete(deploy.id)

        project.delete()
        with self.assertRaises(gitlab.exceptions.GitlabGetError) as caught:
            gl.projects.get(project.id)
        self.assertEqual(caught.exception.response_code, 404)


if __name__ == "__main__":
    unittest.main(verbosity=2)
