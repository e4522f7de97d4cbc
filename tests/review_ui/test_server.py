"""Server settings that need no running server."""

from videogcg.review_ui.server import LabelStudioServer, load_credentials


def test_credentials_come_from_the_environment_first(tmp_path, monkeypatch):
    for key, value in (("USERNAME", "me@example.org"), ("PASSWORD", "pw"), ("TOKEN", "t" * 40)):
        monkeypatch.setenv(f"VIDEOGCG_LS_{key}", value)
    credentials = load_credentials(tmp_path)
    assert (credentials.username, credentials.token) == ("me@example.org", "t" * 40)
    assert not (tmp_path / "credentials.json").exists()  # nothing written when the environment has them


def test_generated_credentials_are_kept_and_reused(tmp_path, monkeypatch):
    monkeypatch.delenv("VIDEOGCG_LS_TOKEN", raising=False)
    first = load_credentials(tmp_path)
    assert (tmp_path / "credentials.json").stat().st_mode & 0o777 == 0o600
    assert load_credentials(tmp_path) == first


def test_server_environment_binds_loopback_and_drops_ambient_variables(tmp_path, monkeypatch):
    monkeypatch.setenv("PORT", "80")
    monkeypatch.setenv("USERNAME", "ci")
    server = LabelStudioServer(tmp_path, port=9999)
    env = server.environment(load_credentials(tmp_path))
    assert "PORT" not in env and "USERNAME" not in env
    assert env["LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT"] == str(tmp_path / "files")
    assert server.url == "http://127.0.0.1:9999"
