"""What the hook tests share: four input lines, registering a hook through the API, and a
job that names hooks."""

LINES = [{"source": f"text {i}", "n": i} for i in range(4)]


def register(client, receiver_url: str, name: str = "prep", **extra) -> dict:
    response = client.post(
        "/api/v1/hooks",
        {"name": name, "url": receiver_url, "secret": "s3cret", "timeout_seconds": 2, **extra},
        format="json",
    )
    assert response.status_code == 201, response.content
    return response.json()


def hooked_job(make_job, client, *, pre=None, consolidation=None, inline=False, **fields):
    job = make_job(items=0, start=False, **fields)
    response = client.put(
        f"/api/v1/jobs/{job.pk}/hooks",
        {"pre_hook": pre, "consolidation_hook": consolidation, "payload_inline": inline},
        format="json",
    )
    assert response.status_code == 200, response.content
    return job
