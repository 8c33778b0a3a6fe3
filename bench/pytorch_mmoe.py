#!/usr/bin/env python3
"""PyTorch MMoE throughput baseline on UCI Census-Income (optional).

What it measures
    CPU throughput of a plain PyTorch implementation of MMoE (Ma et al.,
    "Modeling Task Relationships in Multi-task Learning with Multi-gate
    Mixture-of-Experts", KDD 2018) in the paper's Census-Income "group 1"
    setting: task 1 = income > 50K, task 2 = never married.  It is the
    reference point that mtrank's own numbers are compared against.

    For each thread count (torch.set_num_threads, default 1 and 2):
      * training samples/s: one untimed warm-up epoch, then --epochs full
        epochs timed end to end (torch.randperm shuffle, per-batch tensor
        indexing, forward, loss, backward, Adam step);
      * inference samples/s: model.eval() under torch.inference_mode() over
        the whole training set in contiguous batches (default sizes 1024 and
        65536); one untimed pass, then the median of --infer-repeats passes;
      * test AUC of both tasks after training (census-income.test.gz), only as
        a sanity check that the model learns (income AUC should be > 0.9).
    Data loading and preprocessing happen once, before any timing.

Model (per the paper; sizes are options)
    one nn.Embedding(cardinality, 4) per categorical field, concatenated with
    the 7 standardised numerics -> D inputs; 8 experts Linear(D, 16) + ReLU;
    one gate per task Linear(D, 8) + softmax over experts; per task tower
    Linear(16, 8) + ReLU + Linear(8, 1); loss = sum over tasks of the mean
    BCE-with-logits; Adam, lr 1e-3, batch 1024.  By default the 8 experts run
    as ONE fused Linear(D, 8 * 16) (one GEMM); --naive-experts uses a
    ModuleList of 8 separate Linears, as typical MMoE libraries do, and
    --both-experts runs both.

How to run (from the repository root)
    python3 bench/pytorch_mmoe.py                   # table on stdout
    python3 bench/pytorch_mmoe.py --both-experts    # fused and naive experts
    python3 bench/pytorch_mmoe.py --json            # machine-readable output
    python3 bench/pytorch_mmoe.py --help            # all options

    It needs PyTorch and numpy (on Debian: apt-get install python3-torch;
    if another python3 comes first on PATH, run /usr/bin/python3).
    scikit-learn is used for the AUC if present, else a numpy rank AUC.
    A full run takes a few minutes on a 2-core machine.

This script is OPTIONAL: it is not needed to build, test or use mtrank.
"""

import argparse
import gzip
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

try:
    import numpy as np
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
except ImportError as exc:  # optional benchmark: say why, don't crash
    sys.exit(f"pytorch_mmoe.py needs numpy and PyTorch ({exc}); "
             "on Debian: apt-get install python3-torch")

# --------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------

COLUMNS = [
    "age", "class_worker", "det_ind_code", "det_occ_code", "education",
    "wage_per_hour", "hs_college", "marital_stat", "major_ind_code",
    "major_occ_code", "race", "hisp_origin", "sex", "union_member",
    "unemp_reason", "full_or_part_emp", "capital_gains", "capital_losses",
    "stock_dividends", "tax_filer_stat", "region_prev_res", "state_prev_res",
    "det_hh_fam_stat", "det_hh_summ", "instance_weight", "mig_chg_msa",
    "mig_chg_reg", "mig_move_reg", "mig_same", "mig_prev_sunbelt", "num_emp",
    "fam_under_18", "country_father", "country_mother", "country_self",
    "citizenship", "own_or_self", "vet_question", "vet_benefits",
    "weeks_worked", "year", "income_50k",
]
DROPPED = {"education", "marital_stat", "instance_weight", "income_50k"}
NUMERIC = ["age", "wage_per_hour", "capital_gains", "capital_losses",
           "stock_dividends", "num_emp", "weeks_worked"]
LOG1P = {"capital_gains", "capital_losses", "stock_dividends", "wage_per_hour"}
CATEGORICAL = [c for c in COLUMNS if c not in DROPPED and c not in NUMERIC]
TASKS = ["income", "never_married"]
MISSING = "?"
BUSY = 0.05  # other_cpu_load above which a measurement is flagged as disturbed


def read_rows(path):
    """Rows of one census file as lists of 42 strings (fields are ", "-separated)."""
    rows = []
    with gzip.open(path, "rt", encoding="ascii") as f:
        for lineno, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            fields = line.split(", ")
            if len(fields) != len(COLUMNS):
                raise ValueError(f"{path}:{lineno}: {len(fields)} fields, "
                                 f"expected {len(COLUMNS)}")
            rows.append(fields)
    return rows


class Preprocessor:
    """Label-encodes categoricals and standardises numerics, fitted on train.

    Categorical index 0 is shared by "?" (missing) and values unseen in the
    training file; a missing numeric takes the training mean (0 after scaling).
    """

    def __init__(self, train_rows):
        self.vocab = {}
        for name in CATEGORICAL:
            j = COLUMNS.index(name)
            values = sorted({r[j] for r in train_rows} - {MISSING})
            self.vocab[name] = {v: i + 1 for i, v in enumerate(values)}
        raw = self._raw_numeric(train_rows)
        self.mean = np.nanmean(raw, axis=0)
        self.std = np.nanstd(raw, axis=0)
        self.std[self.std == 0] = 1.0

    @property
    def cardinalities(self):
        return [len(self.vocab[name]) + 1 for name in CATEGORICAL]

    @staticmethod
    def _raw_numeric(rows):
        out = np.empty((len(rows), len(NUMERIC)), dtype=np.float64)
        for k, name in enumerate(NUMERIC):
            j = COLUMNS.index(name)
            col = np.array([np.nan if r[j] == MISSING else float(r[j]) for r in rows])
            out[:, k] = np.log1p(col) if name in LOG1P else col
        return out

    def transform(self, rows):
        """(categorical int64 [N, 31], numeric float32 [N, 7], labels float32 [N, 2])."""
        cat = np.empty((len(rows), len(CATEGORICAL)), dtype=np.int64)
        for k, name in enumerate(CATEGORICAL):
            j, vocab = COLUMNS.index(name), self.vocab[name]
            cat[:, k] = [vocab.get(r[j], 0) for r in rows]
        num = (self._raw_numeric(rows) - self.mean) / self.std
        num = np.nan_to_num(num, nan=0.0)
        j_inc, j_mar = COLUMNS.index("income_50k"), COLUMNS.index("marital_stat")
        y = np.array([[r[j_inc] == "50000+.", r[j_mar] == "Never married"]
                      for r in rows], dtype=np.float32)
        return (torch.from_numpy(cat), torch.from_numpy(num.astype(np.float32)),
                torch.from_numpy(y))


# --------------------------------------------------------------------------
# Model
# --------------------------------------------------------------------------

class MMoE(nn.Module):
    def __init__(self, cardinalities, n_numeric, emb_dim=4, n_experts=8,
                 expert_units=16, tower_units=8, n_tasks=2, fused_experts=True):
        super().__init__()
        self.n_experts, self.expert_units = n_experts, expert_units
        self.fused_experts = fused_experts
        self.embeddings = nn.ModuleList(nn.Embedding(c, emb_dim) for c in cardinalities)
        d = len(cardinalities) * emb_dim + n_numeric
        if fused_experts:
            # All experts as ONE Linear(D, E*U): one GEMM instead of E small
            # ones; the output is reshaped to [B, E, U].  Mathematically the
            # same model as E separate Linear(D, U) experts.
            self.experts = nn.Linear(d, n_experts * expert_units)
        else:
            # The usual library layout: E separate Linear(D, U), stacked.
            self.experts = nn.ModuleList(nn.Linear(d, expert_units)
                                         for _ in range(n_experts))
        self.gates = nn.ModuleList(nn.Linear(d, n_experts) for _ in range(n_tasks))
        self.towers = nn.ModuleList(
            nn.Sequential(nn.Linear(expert_units, tower_units), nn.ReLU(),
                          nn.Linear(tower_units, 1))
            for _ in range(n_tasks))

    def forward(self, cat, num):
        x = torch.cat([emb(cat[:, i]) for i, emb in enumerate(self.embeddings)]
                      + [num], dim=1)                                # [B, D]
        if self.fused_experts:
            e = F.relu(self.experts(x)).view(-1, self.n_experts, self.expert_units)
        else:
            e = torch.stack([F.relu(expert(x)) for expert in self.experts], dim=1)
        logits = []
        for gate, tower in zip(self.gates, self.towers):
            g = torch.softmax(gate(x), dim=1)                        # [B, E]
            h = torch.bmm(g.unsqueeze(1), e).squeeze(1)              # [B, U]
            logits.append(tower(h))
        return torch.cat(logits, dim=1)                              # [B, T]


def mmoe_loss(logits, y):
    """Sum over tasks of each task's mean BCE-with-logits."""
    return F.binary_cross_entropy_with_logits(logits, y, reduction="none").mean(0).sum()


# --------------------------------------------------------------------------
# Measurement
# --------------------------------------------------------------------------

def train_epoch(model, opt, cat, num, y, batch):
    model.train()
    n = y.shape[0]
    perm = torch.randperm(n)
    for i in range(0, n, batch):
        idx = perm[i:i + batch]
        loss = mmoe_loss(model(cat[idx], num[idx]), y[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()


@torch.inference_mode()
def predict(model, cat, num, batch):
    model.eval()
    return torch.cat([model(cat[i:i + batch], num[i:i + batch])
                      for i in range(0, cat.shape[0], batch)])


def inference_throughput(model, cat, num, batch, repeats):
    predict(model, cat, num, batch)                                  # warm-up
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        predict(model, cat, num, batch)
        times.append(time.perf_counter() - t0)
    return cat.shape[0] / statistics.median(times)


def auc(y, score):
    try:
        from sklearn.metrics import roc_auc_score
        return float(roc_auc_score(y, score))
    except ImportError:
        # Mann-Whitney U with average ranks for ties.
        _, inverse, counts = np.unique(score, return_inverse=True, return_counts=True)
        ranks = (np.cumsum(counts) - (counts - 1) / 2.0)[inverse]
        pos = y == 1
        n_pos, n_neg = pos.sum(), (~pos).sum()
        return float((ranks[pos].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def cpu_ticks():
    """(ticks of the whole machine, its busy ticks, this process's ticks), or
    None off Linux.  Busy includes steal time (the hypervisor ran others)."""
    try:
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:9]]  # user..steal
        with open("/proc/self/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return sum(v), sum(v) - v[3] - v[4], int(fields[11]) + int(fields[12])
    except (OSError, ValueError, IndexError):
        return None


def other_load(before, after):
    """Share of the machine's CPU time (0..1) that went to other processes or
    to steal between two cpu_ticks(): anything above a few % skews timings."""
    if before is None or after is None or after[0] == before[0]:
        return None
    total, busy, own = (a - b for a, b in zip(after, before))
    return max(0.0, (busy - own) / total)


def wait_until_idle(deadline):
    """Wait until other processes leave the CPUs idle for 2 s; False if the
    deadline (time.monotonic()) passes first."""
    while time.monotonic() < deadline:
        before = cpu_ticks()
        time.sleep(2)
        load = other_load(before, cpu_ticks())
        if load is None or load <= BUSY:
            return True
    return False


def run(variant, threads, data, cardinalities, args):
    (cat, num, y), (cat_te, num_te, y_te) = data
    torch.set_num_threads(threads)
    torch.manual_seed(args.seed)
    model = MMoE(cardinalities, num.shape[1], args.emb, args.experts,
                 args.expert_units, args.tower_units, len(TASKS),
                 fused_experts=(variant == "fused"))
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)

    train_epoch(model, opt, cat, num, y, args.batch)                 # warm-up
    ticks0 = cpu_ticks()
    epoch_s = []
    for _ in range(args.epochs):
        t0 = time.perf_counter()
        train_epoch(model, opt, cat, num, y, args.batch)
        epoch_s.append(time.perf_counter() - t0)
    train_s = sum(epoch_s)

    infer = {b: inference_throughput(model, cat, num, b, args.infer_repeats)
             for b in args.infer_batch}
    ticks1 = cpu_ticks()
    scores = predict(model, cat_te, num_te, 65536).numpy()
    return {
        "experts": variant,
        "threads": threads,
        "train_epochs_timed": args.epochs,
        "train_seconds": train_s,
        "train_samples_per_s": args.epochs * y.shape[0] / train_s,
        "train_epoch_samples_per_s": [y.shape[0] / t for t in epoch_s],
        "infer_samples_per_s": {str(b): v for b, v in infer.items()},
        "test_auc": {t: auc(y_te[:, k].numpy(), scores[:, k])
                     for k, t in enumerate(TASKS)},
        "other_cpu_load": other_load(ticks0, ticks1),
    }


def int_list(text):
    return [int(v) for v in text.split(",") if v.strip()]


def main():
    repo = Path(__file__).resolve().parent.parent
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data-dir", type=Path, default=repo / "data" / "census-income")
    p.add_argument("--threads", type=int_list, default=[1, 2],
                   help="comma-separated thread counts (default 1,2)")
    p.add_argument("--epochs", type=int, default=2, help="timed training epochs")
    p.add_argument("--batch", type=int, default=1024, help="training batch size")
    p.add_argument("--infer-batch", type=int_list, default=[1024, 65536],
                   help="comma-separated inference batch sizes (default 1024,65536)")
    p.add_argument("--infer-repeats", type=int, default=5,
                   help="timed inference passes; the median is reported")
    p.add_argument("--emb", type=int, default=4, help="embedding dim per field")
    p.add_argument("--experts", type=int, default=8)
    p.add_argument("--expert-units", type=int, default=16)
    p.add_argument("--tower-units", type=int, default=8)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--seed", type=int, default=0)
    group = p.add_mutually_exclusive_group()
    group.add_argument("--naive-experts", action="store_true",
                       help="experts as a ModuleList of Linears instead of one fused Linear")
    group.add_argument("--both-experts", action="store_true",
                       help="run the fused and the naive experts")
    p.add_argument("--wait-idle", type=float, default=0, metavar="SECONDS",
                   help="on a shared machine: wait up to SECONDS per measurement "
                        "for the other processes to go idle, and measure again "
                        "when they disturbed it (default 0: measure at once)")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = p.parse_args()
    variants = (["fused", "naive"] if args.both_experts
                else ["naive"] if args.naive_experts else ["fused"])

    def log(msg):
        print(msg, file=sys.stderr, flush=True)

    log(f"reading {args.data_dir} ...")
    t0 = time.perf_counter()
    train_rows = read_rows(args.data_dir / "census-income.data.gz")
    test_rows = read_rows(args.data_dir / "census-income.test.gz")
    prep = Preprocessor(train_rows)
    data = (prep.transform(train_rows), prep.transform(test_rows))
    del train_rows, test_rows
    log(f"  {data[0][2].shape[0]} train / {data[1][2].shape[0]} test rows, "
        f"{len(CATEGORICAL)} categorical + {len(NUMERIC)} numeric inputs "
        f"({time.perf_counter() - t0:.1f} s, not timed)")

    results = []
    for variant in variants:
        for threads in args.threads:
            log(f"{variant} experts, {threads} thread(s) ...")
            deadline = time.monotonic() + args.wait_idle
            while True:
                if args.wait_idle and not wait_until_idle(deadline):
                    log("  the machine stayed busy; measuring anyway")
                result = run(variant, threads, data, prep.cardinalities, args)
                load = result["other_cpu_load"]
                if load is None or load <= BUSY or time.monotonic() >= deadline:
                    break
                log(f"  other processes used {load:.0%} of the CPUs; measuring again")
            if load is not None and load > BUSY:
                log(f"  warning: other processes used {load:.0%} of the CPUs "
                    "meanwhile; these numbers are low and noisy")
            results.append(result)

    meta = {
        "torch": torch.__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "machine": platform.machine(),
        "config": {k: v for k, v in vars(args).items()
                   if k not in ("json", "naive_experts", "both_experts", "data_dir",
                                 "wait_idle")},
        "train_rows": int(data[0][2].shape[0]),
        "test_rows": int(data[1][2].shape[0]),
    }
    if args.json:
        print(json.dumps({**meta, "results": results}, indent=2))
        return

    c = meta["config"]
    print(f"PyTorch MMoE on Census-Income: torch {meta['torch']}, numpy {meta['numpy']}, "
          f"python {meta['python']}, {meta['cpus']} CPUs")
    print(f"emb {c['emb']}, {c['experts']} experts x {c['expert_units']}, "
          f"towers {c['tower_units']}, batch {c['batch']}, Adam lr {c['lr']}, "
          f"{c['epochs']} timed epochs after 1 warm-up, {meta['train_rows']} train rows")
    head = (["experts", "threads", "train samples/s"]
            + [f"infer/s b={b}" for b in args.infer_batch]
            + ["AUC income", "AUC never-married", "other load"])
    rows = [[r["experts"], str(r["threads"]), f"{r['train_samples_per_s']:,.0f}"]
            + [f"{r['infer_samples_per_s'][str(b)]:,.0f}" for b in args.infer_batch]
            + [f"{r['test_auc'][t]:.4f}" for t in TASKS]
            + [fmt_load(r["other_cpu_load"])] for r in results]
    widths = [max(len(x) for x in col) for col in zip(head, *rows)]
    for line in [head, ["-" * w for w in widths]] + rows:
        print("  ".join(x.rjust(w) for x, w in zip(line, widths)))
    print("other load = share of the CPUs used by other processes (or stolen by "
          "the hypervisor) while timing;")
    print(f"rows above {BUSY:.0%} (marked !) were measured on a busy machine: rerun "
          "them when it is idle.")


def fmt_load(load):
    if load is None:
        return "n/a"
    return f"{load:.0%}" + (" !" if load > BUSY else "")


if __name__ == "__main__":
    main()
