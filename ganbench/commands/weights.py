"""``ganbench weights``: list the known feature-extractor weights files, where each was found, and
(``--verify``) whether its sha256 matches. ``--dir`` adds folders to search, ``--download`` fetches
missing files when the network allows. Exit status 1 when a file fails its checksum (or, with
``--require``, when one is missing)."""

from __future__ import annotations

import argparse

from ganbench.errors import WeightsError


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "weights", help="list / verify feature-extractor weights files", description=__doc__
    )
    p.add_argument("--dir", action="append", default=[], metavar="DIR", help="also search DIR (repeatable)")
    p.add_argument("--verify", action="store_true", help="compute and check each found file's sha256")
    p.add_argument("--download", action="store_true", help="download missing files (needs network)")
    p.add_argument("--require", action="store_true", help="exit 1 when a file is missing")
    p.set_defaults(func=run)


def _classifier_row(verify: bool) -> list[str]:
    from ganbench.evaluation import weights as W
    from ganbench.evaluation.extractors import fmnist_classifier as fc

    path = fc.asset_path()
    status = "missing"
    if path.is_file():
        status = "found"
        if verify:
            status = "ok" if W.file_sha256(path) == fc.ASSET_SHA256 else "CHECKSUM MISMATCH"
    return [
        "fmnist-classifier",
        fc.ASSET_NAME,
        "fmnist-classifier (shipped in the package)",
        status,
        str(path),
    ]


def run(args: argparse.Namespace) -> int:
    # imported here, not at the top: ganbench.evaluation imports torch, and --help must not (startup latency)
    from tabulate import tabulate

    from ganbench.evaluation import weights as W

    rows = []
    bad = missing = 0
    for w in W.KNOWN_WEIGHTS.values():
        path = W.find(w, args.dir)
        status = "found"
        if path is None and args.download:
            try:
                path, _ = W.resolve(w.key, extra_dirs=args.dir, allow_download=True)
                status = "downloaded, ok"
            except WeightsError as e:
                status = f"download failed ({e.__cause__ or e})"
        if path is None:
            missing += 1
            rows.append([w.key, w.filename, w.used_by, status if args.download else "missing", w.url])
            continue
        if args.verify and status == "found":
            try:
                W.verify(w, path)
                status = "ok"
            except WeightsError:
                status = "CHECKSUM MISMATCH"
                bad += 1
        rows.append([w.key, w.filename, w.used_by, status, str(path)])
    rows.append(_classifier_row(args.verify))
    bad += rows[-1][3] == "CHECKSUM MISMATCH"
    print(tabulate(rows, headers=["weights", "file", "used by", "status", "location (or URL when missing)"]))
    if missing:
        searched = ", ".join(str(d) for d in W.search_dirs(W.known("inception-torchscript"), args.dir))
        print(
            f"\n{missing} file(s) missing. Fetch each from its URL and put it in {W.weights_cache_dir()} "
            f"(or a folder in $GANBENCH_WEIGHTS_DIR, or pass --dir). Searched: {searched} "
            "(/tmp, clean-fid's download folder, for the Inception TorchScript only)."
        )
    if bad:
        print(f"\n{bad} file(s) fail their sha256: delete them and fetch them again.")
    return 1 if bad or (args.require and missing) else 0
