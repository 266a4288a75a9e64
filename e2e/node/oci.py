"""Writes a single-layer OCI image archive that `ctr -n k8s.io images import`
takes without a registry: oci-layout, index.json (with the
io.containerd.image.name annotation), a manifest, a config and one
uncompressed layer made from a directory.

Usage: oci.py OUT.tar NAME ROOT [--exclude PATH]... [--cmd ARG]...
  NAME     the image reference, e.g. e2e.local/workload:1
  ROOT     the directory that becomes the image's root file system
  PATH     relative to ROOT; left out with everything under it
  --cmd    the image's default command, one argument per --cmd
"""
import hashlib
import io
import json
import os
import sys
import tarfile
import tempfile


def main(argv):
    out, name, root = argv[1], argv[2], argv[3]
    excludes, cmd = set(), []
    i = 4
    while i < len(argv):
        flag, val = argv[i], argv[i + 1]
        if flag == "--exclude":
            excludes.add("./" + val.strip("/"))
        elif flag == "--cmd":
            cmd.append(val)
        else:
            raise SystemExit("oci.py: unknown flag %s" % flag)
        i += 2

    def keep(ti):
        if ti.name in excludes:
            return None
        ti.uid = ti.gid = 0
        ti.uname = ti.gname = "root"
        return ti

    with tempfile.TemporaryFile() as layer:
        with tarfile.open(fileobj=layer, mode="w", format=tarfile.PAX_FORMAT) as t:
            t.add(root, arcname=".", recursive=True, filter=keep)
        size = layer.tell()
        layer.seek(0)
        h = hashlib.sha256()
        for chunk in iter(lambda: layer.read(1 << 20), b""):
            h.update(chunk)
        layer_digest = "sha256:" + h.hexdigest()

        config = json.dumps({
            "architecture": "amd64",
            "os": "linux",
            "config": {
                "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
                "Cmd": cmd or None,
            },
            "rootfs": {"type": "layers", "diff_ids": [layer_digest]},
        }, sort_keys=True).encode()
        config_digest = "sha256:" + hashlib.sha256(config).hexdigest()
        manifest = json.dumps({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                       "digest": config_digest, "size": len(config)},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar",
                        "digest": layer_digest, "size": size}],
        }, sort_keys=True).encode()
        manifest_digest = "sha256:" + hashlib.sha256(manifest).hexdigest()
        index = json.dumps({
            "schemaVersion": 2,
            "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
                           "digest": manifest_digest, "size": len(manifest),
                           "annotations": {"io.containerd.image.name": name,
                                           "org.opencontainers.image.ref.name": name.rsplit(":", 1)[-1]}}],
        }, sort_keys=True).encode()

        tmp = out + ".tmp"
        with tarfile.open(tmp, mode="w", format=tarfile.PAX_FORMAT) as t:
            def blob(arcname, data=None, fileobj=None, n=0):
                ti = tarfile.TarInfo(arcname)
                ti.mode = 0o644
                if data is not None:
                    ti.size = len(data)
                    t.addfile(ti, io.BytesIO(data))
                else:
                    ti.size = n
                    t.addfile(ti, fileobj)
            blob("oci-layout", b'{"imageLayoutVersion":"1.0.0"}')
            blob("index.json", index)
            blob("blobs/sha256/" + manifest_digest[7:], manifest)
            blob("blobs/sha256/" + config_digest[7:], config)
            layer.seek(0)
            blob("blobs/sha256/" + layer_digest[7:], fileobj=layer, n=size)
        os.rename(tmp, out)


if __name__ == "__main__":
    main(sys.argv)
