"""
b2sdk conformance scenario against the local emulator, run unchanged by every b2sdk generation
(newest 2.x: API v4; 1.x: POST authorize, API v2 — see docs/b2-api.md §1.3). Driven by
test/conformance/b2sdk/b2sdk.test.ts, which starts the emulator and reads our stdout.

Input: env B2_CONFORMANCE = JSON {"url", "keyId", "applicationKey", "workdir", "runId", "heavy"}.
Output: one JSON line per completed step {"step": ..., "ok": true, ...facts}; on failure a final
{"step": ..., "ok": false, "error": ..., "traceback": ...} line and exit status 1.

Only the public b2sdk.v2 API is used, as an application would. All data is generated
deterministically from a seed, so a failure reproduces byte for byte.
"""

import hashlib
import json
import os
import random
import sys
import time
import traceback
import urllib.error
import urllib.request

from b2sdk.v2 import (
    B2Api,
    CopySource,
    EncryptionAlgorithm,
    EncryptionMode,
    EncryptionSetting,
    InMemoryAccountInfo,
    UploadSourceLocalFile,
    WriteIntent,
)
from b2sdk.v2 import exception as b2exc

MiB = 1024 * 1024
CFG = json.loads(os.environ["B2_CONFORMANCE"])
CURRENT_STEP = "start"


def emit(step, **facts):
    print(json.dumps({"step": step, "ok": True, **facts}, default=str), flush=True)


def check(cond, message):
    if not cond:
        raise AssertionError(message)


def det_bytes(seed, n):
    return random.Random(seed).randbytes(n)


def write_det_file(path, seed, n):
    """Writes n deterministic bytes in 1 MiB chunks (bounded memory) and returns their SHA-256."""
    rng = random.Random(seed)
    digest = hashlib.sha256()
    with open(path, "wb") as f:
        left = n
        while left:
            chunk = rng.randbytes(min(MiB, left))
            digest.update(chunk)
            f.write(chunk)
            left -= len(chunk)
    return digest.hexdigest()


def sha256_file(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(MiB), b""):
            digest.update(chunk)
    return digest.hexdigest()


def download_bytes(downloaded):
    path = os.path.join(CFG["workdir"], "dl-%d.bin" % time.monotonic_ns())
    downloaded.save_to(path)
    with open(path, "rb") as f:
        data = f.read()
    os.remove(path)
    return data


def http_get(url):
    """Plain GET without b2sdk (anonymous or ?Authorization=): (status, body)."""
    try:
        with urllib.request.urlopen(url, timeout=60) as res:
            return res.status, res.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def retry_after_is_parsed():
    """Whether this b2sdk turns a Retry-After header into a number (older ones keep the string)."""
    err = b2exc.interpret_b2_error(429, "too_many_requests", "probe", {"retry-after": "1"})
    return isinstance(err.retry_after_seconds, (int, float))


def admin(method, path, body=None):
    """Emulator admin API (clock, faults): JSON in, JSON out."""
    req = urllib.request.Request(
        CFG["url"] + path,
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"authorization": "Bearer " + CFG["adminToken"], "content-type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=30) as res:
        return json.loads(res.read() or b"null")


def expect_denied(what, fn):
    """
    The call must fail the way B2 refuses a key: 401 unauthorized (b2sdk: Unauthorized/AccessDenied).
    b2sdk retries uploads on Unauthorized (it may be an expired upload token), so a refused upload
    surfaces as MaxRetriesExceeded wrapping only Unauthorized errors; that counts as refused too.
    """
    try:
        fn()
    except (b2exc.Unauthorized, b2exc.AccessDenied) as e:
        return type(e).__name__
    except b2exc.MaxRetriesExceeded as e:
        wrapped = [type(x).__name__ for x in e.exception_info_list]
        if wrapped and all(isinstance(x, (b2exc.Unauthorized, b2exc.AccessDenied)) for x in e.exception_info_list):
            return "MaxRetriesExceeded(%s)" % ",".join(sorted(set(wrapped)))
        raise AssertionError("%s: expected only 401 unauthorized, got %s" % (what, wrapped))
    except b2exc.B2Error as e:
        raise AssertionError("%s: expected 401 unauthorized, got %s: %s" % (what, type(e).__name__, e))
    raise AssertionError("%s: succeeded although the key does not allow it" % what)


def authorize(key_id, key):
    info = InMemoryAccountInfo()
    api = B2Api(info)
    # A realm that is a URL is used as is: this is how b2sdk is pointed at a non-production realm.
    api.authorize_account(CFG["url"], key_id, key)
    return api, info


def step(name):
    global CURRENT_STEP
    CURRENT_STEP = name


def main():
    run_id = CFG["runId"]
    work = CFG["workdir"]

    step("authorize")
    api, info = authorize(CFG["keyId"], CFG["applicationKey"])
    check(info.get_api_url() == CFG["url"], "apiUrl %r != emulator url %r" % (info.get_api_url(), CFG["url"]))
    check(info.get_download_url() == CFG["url"], "downloadUrl %r" % info.get_download_url())
    check(info.get_absolute_minimum_part_size() == 5 * 1000 * 1000, "absoluteMinimumPartSize %r" % info.get_absolute_minimum_part_size())
    emit("authorize", apiUrl=info.get_api_url(), recommendedPartSize=info.get_recommended_part_size())

    step("bucket")
    name = "cf-b2sdk-%s" % run_id
    lifecycle = [{"fileNamePrefix": "logs/", "daysFromUploadingToHiding": 30, "daysFromHidingToDeleting": 1}]
    sse_b2 = EncryptionSetting(mode=EncryptionMode.SSE_B2, algorithm=EncryptionAlgorithm.AES256)
    bucket = api.create_bucket(
        name, "allPrivate", bucket_info={"team": "platform"}, lifecycle_rules=lifecycle, default_server_side_encryption=sse_b2
    )
    fetched = api.get_bucket_by_name(name)
    check(fetched.id_ == bucket.id_, "bucket id changed between create and list")
    check(fetched.type_ == "allPrivate", "bucketType %r" % fetched.type_)
    check(fetched.bucket_info == {"team": "platform"}, "bucketInfo %r" % fetched.bucket_info)
    rules = [dict(r) for r in fetched.lifecycle_rules]
    check(rules == lifecycle, "lifecycleRules %r != %r" % (rules, lifecycle))
    check(fetched.default_server_side_encryption.mode == EncryptionMode.SSE_B2, "defaultServerSideEncryption %r" % fetched.default_server_side_encryption)
    check(name in [b.name for b in api.list_buckets()], "bucket missing from list_buckets")
    emit("bucket", bucketId=bucket.id_, revision=fetched.revision)

    step("upload_small")
    small1 = det_bytes("small-1", 12345)
    v1 = bucket.upload_bytes(small1, "docs/hello.txt", content_type="text/plain", file_info={"color": "blue"})
    check(v1.size == len(small1), "size %r" % v1.size)
    check(v1.content_sha1 == hashlib.sha1(small1).hexdigest(), "contentSha1 %r" % v1.content_sha1)
    check(v1.server_side_encryption.mode == EncryptionMode.SSE_B2, "bucket default SSE-B2 not applied: %r" % v1.server_side_encryption)
    info1 = api.get_file_info(v1.id_)
    check(info1.file_info.get("color") == "blue", "fileInfo %r" % info1.file_info)
    check(info1.content_type == "text/plain", "contentType %r" % info1.content_type)
    emit("upload_small", fileId=v1.id_)

    step("upload_large_30MiB")
    large_path = os.path.join(work, "large30.bin")
    large_sha256 = write_det_file(large_path, "large-30", 30 * MiB)
    # 10 MiB parts: a real multi-part large file (start, 3 × upload_part, finish).
    large = bucket.create_file(
        [WriteIntent(UploadSourceLocalFile(large_path))],
        "big/large30.bin",
        recommended_upload_part_size=10 * MiB,
        min_part_size=5 * 1000 * 1000,
    )
    check(large.size == 30 * MiB, "large size %r" % large.size)
    check(large.content_sha1 in (None, "none"), "a large file has no whole-file contentSha1, got %r" % large.content_sha1)
    emit("upload_large_30MiB", fileId=large.id_)

    step("list_versions")
    small2 = det_bytes("small-2", 23456)
    v2 = bucket.upload_bytes(small2, "docs/hello.txt", content_type="text/plain")
    versions = [fv.id_ for fv in bucket.list_file_versions("docs/hello.txt")]
    check(versions == [v2.id_, v1.id_], "versions %r, expected newest first %r" % (versions, [v2.id_, v1.id_]))
    one_per_page = [fv.id_ for fv in bucket.list_file_versions("docs/hello.txt", fetch_count=1)]
    check(one_per_page == versions, "versions one per page %r" % one_per_page)
    emit("list_versions", count=len(versions))

    step("hide")
    hidden = bucket.hide_file("docs/hello.txt")
    check(hidden.action == "hide", "hide action %r" % hidden.action)
    latest = sorted(fv.file_name for fv, _ in bucket.ls(recursive=True))
    check(latest == ["big/large30.bin"], "latest listing after hide %r" % latest)
    every = [(fv.file_name, fv.action) for fv, _ in bucket.ls(recursive=True, latest_only=False)]
    check(
        every == [("big/large30.bin", "upload"), ("docs/hello.txt", "hide"), ("docs/hello.txt", "upload"), ("docs/hello.txt", "upload")],
        "all-versions listing %r" % every,
    )
    emit("hide")

    step("download")
    check(download_bytes(api.download_file_by_id(v1.id_)) == small1, "old version by id: bytes differ")
    check(download_bytes(api.download_file_by_id(v2.id_)) == small2, "new version by id: bytes differ")
    check(download_bytes(api.download_file_by_id(v2.id_, range_=(100, 199))) == small2[100:200], "range 100-199: bytes differ")
    got_large = os.path.join(work, "large30.got")
    bucket.download_file_by_name("big/large30.bin").save_to(got_large)
    check(sha256_file(got_large) == large_sha256, "30 MiB large file by name: bytes differ")
    os.remove(got_large)
    try:
        bucket.download_file_by_name("docs/hello.txt")
        raise AssertionError("downloading a hidden file by name succeeded")
    except b2exc.FileNotPresent:
        pass
    emit("download")

    step("copy")
    # Small: one b2_copy_file, metadata replaced. Large: split into b2_copy_part calls (10 MiB).
    copied = bucket.copy(v1.id_, "docs/copy.txt", content_type="application/x-copy", file_info={"copied": "yes"})
    check(copied.size == len(small1), "copied size %r" % copied.size)
    copied_info = api.get_file_info(copied.id_)
    check(copied_info.content_type == "application/x-copy", "copy contentType %r" % copied_info.content_type)
    check(copied_info.file_info.get("copied") == "yes", "copy fileInfo %r" % copied_info.file_info)
    check(download_bytes(api.download_file_by_id(copied.id_)) == small1, "copied bytes differ")
    # Two server-side ranges of the 30 MiB file stitched into a new large file (b2_copy_part each),
    # b2sdk concatenate, as an application would.
    half = 15 * MiB
    copied_large = bucket.concatenate(
        [CopySource(large.id_, offset=0, length=half), CopySource(large.id_, offset=half, length=half)],
        "big/copy30.bin",
        content_type="application/octet-stream",
    )
    check(copied_large.size == 30 * MiB, "copied large size %r" % copied_large.size)
    got_copy = os.path.join(work, "copy30.got")
    api.download_file_by_id(copied_large.id_).save_to(got_copy)
    check(sha256_file(got_copy) == large_sha256, "copied 30 MiB file: bytes differ")
    os.remove(got_copy)
    emit("copy", smallId=copied.id_, largeId=copied_large.id_)

    step("folders")
    top = sorted((folder or fv.file_name) for fv, folder in bucket.ls("", recursive=False))
    check(top == ["big/", "docs/"], "top-level listing with delimiter %r" % top)
    emit("folders", entries=top)

    step("update_bucket")
    current = api.get_bucket_by_name(name)
    new_rules = lifecycle + [{"fileNamePrefix": "tmp/", "daysFromUploadingToHiding": 1, "daysFromHidingToDeleting": 1}]
    bucket.update(lifecycle_rules=new_rules, if_revision_is=current.revision)
    updated = api.get_bucket_by_name(name)
    check([dict(r) for r in updated.lifecycle_rules] == new_rules, "lifecycle after update %r" % updated.lifecycle_rules)
    check(updated.revision == current.revision + 1, "revision %r -> %r" % (current.revision, updated.revision))
    try:
        bucket.update(bucket_info={"stale": "write"}, if_revision_is=current.revision)
        raise AssertionError("update with a stale ifRevisionIs succeeded")
    except b2exc.B2Error as e:
        check(getattr(e, "code", None) == "conflict" or "conflict" in str(e).lower(), "stale update: %s %s" % (type(e).__name__, e))
    check(api.get_bucket_by_name(name).bucket_info == {"team": "platform"}, "a refused update changed bucketInfo")
    emit("update_bucket", revision=updated.revision)

    step("download_auth_and_public")
    token = bucket.get_download_authorization("docs/", 60)
    status, body = http_get("%s/file/%s/docs/copy.txt?Authorization=%s" % (CFG["url"], name, token))
    check((status, body) == (200, small1), "download with a download authorization: %r" % status)
    status, _ = http_get("%s/file/%s/big/large30.bin?Authorization=%s" % (CFG["url"], name, token))
    check(status == 401, "download outside the authorization prefix answered %r" % status)
    status, _ = http_get("%s/file/%s/docs/copy.txt" % (CFG["url"], name))
    check(status == 401, "anonymous download from a private bucket answered %r" % status)
    bucket.set_type("allPublic")
    status, body = http_get(bucket.get_download_url("docs/copy.txt"))
    check((status, body) == (200, small1), "anonymous download from a public bucket answered %r" % status)
    bucket.set_type("allPrivate")
    status, _ = http_get("%s/file/%s/docs/copy.txt" % (CFG["url"], name))
    check(status == 401, "anonymous download after going private again answered %r" % status)
    emit("download_auth_and_public")

    step("unfinished_large_file")
    started = api.session.start_large_file(bucket.id_, "unfinished/x.bin", "b2/x-auto", {"src": "test"})
    pending = [f.file_id for f in bucket.list_unfinished_large_files()]
    check(pending == [started["fileId"]], "unfinished large files %r" % pending)
    check(list(bucket.list_parts(started["fileId"])) == [], "an unfinished file without parts lists parts")
    api.cancel_large_file(started["fileId"])
    check(list(bucket.list_unfinished_large_files()) == [], "cancelled large file still listed")
    check("unfinished/x.bin" not in [fv.file_name for fv, _ in bucket.ls(recursive=True, latest_only=False)], "cancelled file visible")
    emit("unfinished_large_file")

    step("names_and_info_encoding")
    # Names and info values that need percent-encoding on the wire (X-Bz-File-Name, X-Bz-Info-*,
    # /file/<bucket>/<name> URLs): they must round-trip exactly through upload, list and download.
    tricky = [
        "names/space name.txt",
        "names/plus+sign.txt",
        "names/percent%20literal.txt",
        "names/query?hash#amp&eq=.txt",
        "names/ünïcödé-日本語.txt",
        "names/emoji-\U0001F600.txt",
        "names/deep/a/b/c/d.txt",
    ]
    info = {"author": "Jürgen Ü", "note": "a b+c/d?e=f&g", "empty": ""}
    for i, fname in enumerate(tricky):
        data = det_bytes("name-%d" % i, 100 + i)
        up = bucket.upload_bytes(data, fname, file_info=info)
        check(up.file_name == fname, "uploaded name %r != %r" % (up.file_name, fname))
        check(download_bytes(bucket.download_file_by_name(fname)) == data, "download by name %r: bytes differ" % fname)
        got = api.get_file_info(up.id_)
        check(got.file_name == fname and got.file_info == info, "file info for %r: %r %r" % (fname, got.file_name, got.file_info))
    listed = sorted(fv.file_name for fv, _ in bucket.ls("names", recursive=True))
    check(listed == sorted(tricky), "listed names %r" % listed)
    emit("names_and_info_encoding", names=len(tricky))

    step("restricted_key")
    key = api.create_key(["listBuckets", "listFiles", "readFiles"], "cf-reader-%s" % run_id, bucket_id=bucket.id_, name_prefix="docs/")
    api_r, info_r = authorize(key.id_, key.application_key)
    allowed = info_r.get_allowed()
    check(allowed.get("namePrefix") == "docs/", "allowed.namePrefix %r" % allowed.get("namePrefix"))
    check(
        allowed.get("bucketId") == bucket.id_ or bucket.id_ in [b.get("id") for b in allowed.get("buckets") or []],
        "allowed does not name the bucket: %r" % allowed,
    )
    bucket_r = api_r.get_bucket_by_name(name)
    check(download_bytes(api_r.download_file_by_id(v1.id_)) == small1, "reader could not read inside its prefix")
    denied_upload = expect_denied("upload with a read-only key", lambda: bucket_r.upload_bytes(b"nope", "docs/new.txt"))
    denied_read = expect_denied(
        "download outside the key's namePrefix", lambda: download_bytes(bucket_r.download_file_by_name("big/large30.bin"))
    )
    api.delete_key(key)
    emit("restricted_key", uploadDenied=denied_upload, readDenied=denied_read)

    step("bulk")
    src = os.path.join(work, "bulk-src")
    os.makedirs(src)
    expected = {}
    for i in range(200):
        data = det_bytes("bulk-%d" % i, 1 + (i * 7919) % 4096)
        rel = "dir%d/file-%03d.dat" % (i % 5, i)
        os.makedirs(os.path.dirname(os.path.join(src, rel)), exist_ok=True)
        with open(os.path.join(src, rel), "wb") as f:
            f.write(data)
        expected[rel] = hashlib.sha256(data).hexdigest()
    if CFG.get("heavy"):
        expected["big300.bin"] = write_det_file(os.path.join(src, "big300.bin"), "big-300", 300 * MiB)
    copy_up = {}
    for rel in sorted(expected):
        # The 300 MB file goes through b2sdk's own planner (recommendedPartSize → a large file).
        fv = bucket.upload_local_file(os.path.join(src, rel), "bulk/" + rel)
        copy_up[rel] = fv.id_
    listed = {fv.file_name[len("bulk/"):]: fv for fv, _ in bucket.ls("bulk", recursive=True)}
    check(sorted(listed) == sorted(expected), "bulk listing has %d names, expected %d" % (len(listed), len(expected)))
    # Small pages force B2's paging (nextFileName; nextFileName + nextFileId for versions): the
    # client must see every name exactly once, in order.
    paged = [fv.file_name for fv, _ in bucket.ls("bulk", recursive=True, fetch_count=7)]
    check(paged == sorted("bulk/" + r for r in expected), "paged listing (7 per page) differs: %d names" % len(paged))
    paged_versions = [fv.file_name for fv, _ in bucket.ls("bulk", recursive=True, latest_only=False, fetch_count=7)]
    check(paged_versions == paged, "paged version listing differs: %d names" % len(paged_versions))
    dst = os.path.join(work, "bulk-dst")
    for rel, fv in listed.items():
        out = os.path.join(dst, rel)
        os.makedirs(os.path.dirname(out), exist_ok=True)
        api.download_file_by_id(fv.id_).save_to(out)
        check(sha256_file(out) == expected[rel], "bulk %s: downloaded bytes differ" % rel)
        os.remove(out)
    emit("bulk", files=len(expected), heavy=bool(CFG.get("heavy")))

    step("resilience")
    # Token expiry on the emulator clock: b2sdk must re-authorize (expired_auth_token) and fetch a
    # fresh upload URL on its own, as it does against B2 after 24 h.
    admin("POST", "/__admin/clock", {"advanceSeconds": 24 * 3600 + 60})
    check(name in [b.name for b in api.list_buckets()], "list_buckets after token expiry")
    after_expiry = bucket.upload_bytes(b"after expiry", "resilience/after-expiry.txt")
    check(after_expiry.size == 12, "upload after token expiry")
    # Transient faults are retried: 503 on uploads (new upload URL each time), 429 with Retry-After
    # on listing, a connection reset on get_file_info.
    throttle = {"operation": "b2_list_file_names", "status": 429, "code": "too_many_requests", "count": 1}
    if retry_after_is_parsed():
        # b2sdk up to 2.8 passes the Retry-After header string to time.sleep() and crashes (a
        # client defect, also against B2), so only generations that parse it get a Retry-After.
        throttle["retryAfter"] = 1
    admin("POST", "/__admin/faults", {"rules": [
        {"operation": "b2_upload_file", "status": 503, "code": "service_unavailable", "count": 2},
        throttle,
        {"operation": "b2_get_file_info", "action": "reset", "count": 1},
    ]})
    data = det_bytes("resilience", 3000)
    up = bucket.upload_bytes(data, "resilience/after-503.txt")
    names = [fv.file_name for fv, _ in bucket.ls("resilience", recursive=True)]
    check(names == ["resilience/after-503.txt", "resilience/after-expiry.txt"], "listing after 429 %r" % names)
    check(api.get_file_info(up.id_).size == len(data), "get_file_info after a reset")
    fired = {r.get("operation"): r.get("fired") for r in admin("GET", "/__admin/faults")["rules"]}
    admin("DELETE", "/__admin/faults")
    check(fired == {"b2_upload_file": 2, "b2_list_file_names": 1, "b2_get_file_info": 1}, "faults fired %r" % fired)
    check(download_bytes(api.download_file_by_id(up.id_)) == data, "bytes after retried upload differ")
    emit("resilience", fired=fired)

    step("cleanup")
    deleted = 0
    for fv, _ in bucket.ls(recursive=True, latest_only=False):
        api.delete_file_version(fv.id_, fv.file_name)
        deleted += 1
    api.delete_bucket(bucket)
    check(name not in [b.name for b in api.list_buckets()], "bucket still listed after delete")
    emit("cleanup", deletedVersions=deleted)


if __name__ == "__main__":
    try:
        main()
    except BaseException as e:  # report every failure as data for the jest side
        print(
            json.dumps(
                {"step": CURRENT_STEP, "ok": False, "error": "%s: %s" % (type(e).__name__, e), "traceback": traceback.format_exc()}
            ),
            flush=True,
        )
        sys.exit(1)
