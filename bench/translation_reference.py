#!/usr/bin/python3
"""PyTorch 1.13 twin of tapegrad's translation models (CPU, float32).

It mirrors models/vae/translator.hpp: the attention model (RNNsearch-style, with
Luong's "general" score) and, with --variational, VNMT (Zhang et al. 2016) on it.
Parameter names are tapegrad's, so a tapegrad checkpoint's arrays map one to one
onto this model's state_dict (tests/fixtures/make_translator_fixtures.py builds its
fixtures from this file's `build`).

Model (sizes: E embed 256, H hidden 256, Z latent 64; Vs, Vt the vocabularies):
  source_embedding  Embedding(Vs, E, padding_idx=0)
  target_embedding  Embedding(Vt, E, padding_idx=0)
  encoder           GRU(E, H, bidirectional, batch_first), run packed on the source
                    sentence's *targets* (words + <eos>) with their lengths:
                    states h [B, S, 2H], zero at padding; m_x = sum_t h / length [B, 2H]
  to_initial        Linear(2H, H): decoder initial state s0 = tanh(to_initial(m_x)) [1, B, H]
  VNMT only:
    prior           p(z|x):   u = tanh(prior_hidden(m_x)), Linear(2H, H);
                              mu = prior_mu(u), logvar = prior_logvar(u), Linear(H, Z)
    posterior       q(z|x,y): u = tanh(posterior_hidden([m_x, m_y])), Linear(4H, H);
                              mu = posterior_mu(u), logvar = posterior_logvar(u), where
                              m_y is the mean over the real positions of the SAME encoder's
                              states over target_embedding(target words + <eos>); with
                              --posterior embeddings, the mean of target_embedding(target
                              words + <eos>) itself [B, E], and posterior_hidden is
                              Linear(2H + E, H)
    z               mu_q + exp(0.5 logvar_q) * eps (one sample); e = tanh(from_z(z)),
                    from_z Linear(Z, H), joins every decoder input
  decoder           GRU(E [+ H], H, batch_first), teacher forced on <sos> + words, run
                    packed with the target lengths from s0: states s [B, T, H]
  attention         q = attention_query(s), Linear(H, 2H, bias=False);
                    a = softmax(q h^T / sqrt(2H) + padding mask (-inf at padded source
                    positions)); c = a h; o = tanh(attention_out([c, s])), Linear(3H, H)
  to_vocab          Linear(H, Vt) on the real target positions only; cross entropy summed
  dropout p (0.2), in training only, on: the source embeddings before the encoder, the
  target embeddings before the encoder (posterior), the decoder's input embeddings
  and the attention outputs o.
Loss: deterministic sum NLL / B; VNMT (sum NLL + beta * sum KL(q || p)) / B, the KL of
two diagonal Gaussians in closed form, beta = min(1, step / 2000) with step = optimiser
steps taken so far (tapegrad's linear KLSchedule, models/vae/annealing.cpp).
Init: PyTorch's defaults, which are tapegrad's (Linear and GRU U(+-1/sqrt(fan_in)),
Embedding N(0, 1) with the padding row zeroed).

Data, as tapegrad reads data/bible-en-es (models/data/parallel.cpp, text.cpp):
{train,valid,test}.{en,es}, one sentence per line, tokenised by a port of tapegrad's
tokenize(); one vocabulary per language from the training split (ids 0..3 <pad> <unk>
<sos> <eos>, then the words seen at least --min-count times, in order of first
occurrence); a sentence keeps at most --max-length - 1 words (input <sos> + words,
target words + <eos>). Batches: tapegrad's plan_batches with bucketing (pools of 50
batches sorted by target length), shuffled by a port of its std::mt19937_64
generator, so --seed gives tapegrad's batches. As bench/vae_step does, the one plan
of --seed is cycled; --reshuffle plans epoch e with seed * 1000003 + e instead, as
tapegrad-vae train does.
Training: Adam (lr 1e-3, PyTorch's other defaults), gradient norm clipped to 5,
batch 64.

Speed mode (as the other PyTorch references): each step's forward + loss + backward
+ clipping + Adam update + loss.item() is timed, the batch tensors already built; the
first --warmup steps are excluded. The JSON result has "timing" (median_ms, mean_ms,
p10_ms, p90_ms, timed_steps, total_s), "peak_rss_mib" (getrusage), "tokens_per_s"
(target tokens, <eos> included) and "script", the keys bench/report.py reads.

  /usr/bin/python3 bench/translation_reference.py --data data/bible-en-es [--variational] \\
      --steps 200 --threads 1 --no-eval --json out.json
"""
import argparse
import json
import math
import os
import re
import resource
import statistics
import sys
import time

PAD, UNK, SOS, EOS = 0, 1, 2, 3
SPECIALS = ["<pad>", "<unk>", "<sos>", "<eos>"]


# ----------------------------------------------------------------------------- tokeniser
# tapegrad's is_space (models/data/utf8.cpp) and is_punctuation (parallel.cpp) as
# character classes; every other character belongs to words.
_SPACES = "\t-\r\x1c- \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
_PUNCTUATION = ("\x21-\x2f\x3a-\x40\x5b-\x60\x7b-\x7e"        # ASCII punctuation
                "\u00a1\u00bf\u00ab\u00bb\u2039\u203a\u2026"   # ¡ ¿ « » ‹ › …
                "\u2010-\u2015\u2018-\u201f")                  # dashes, quotation marks
_SPLIT = re.compile("[%s]+" % _SPACES)
_HAS_PUNCTUATION = re.compile("[%s]" % _PUNCTUATION)
_JOINERS = ("'", "\u2019", "-")  # ' ’ -: kept inside a word with word characters on both sides


def tokenize(text):
    """Port of tapegrad's tokenize(): split at spaces, every punctuation mark becomes a
    token of its own, except ' ’ - between two word characters."""
    out = []
    for chunk in _SPLIT.split(text):
        if not chunk:
            continue
        if not _HAS_PUNCTUATION.search(chunk):
            out.append(chunk)
            continue
        word = ""
        for i, c in enumerate(chunk):
            if not _HAS_PUNCTUATION.match(c):
                word += c
            elif (c in _JOINERS and word and i + 1 < len(chunk)
                  and not _HAS_PUNCTUATION.match(chunk[i + 1])):
                word += c
            else:
                if word:
                    out.append(word)
                word = ""
                out.append(c)
        if word:
            out.append(word)
    return out


def read_lines(path):
    """The file's lines without their line ends ("\\n" or "\\r\\n"), as tapegrad's read_lines."""
    with open(path, "rb") as f:
        text = f.read().decode("utf-8")
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [line[:-1] if line.endswith("\r") else line for line in lines]


def read_split(folder, split, source, target):
    """Tokenised sentence pairs of folder/split.{source,target}."""
    src = read_lines(os.path.join(folder, "%s.%s" % (split, source)))
    tgt = read_lines(os.path.join(folder, "%s.%s" % (split, target)))
    if len(src) != len(tgt):
        sys.exit("%s: %d %s lines but %d %s lines" % (split, len(src), source, len(tgt), target))
    for i, (a, b) in enumerate(zip(src, tgt)):
        if not _SPLIT.sub("", a) or not _SPLIT.sub("", b):
            sys.exit("%s: line %d is blank" % (split, i + 1))
    return [tokenize(s) for s in src], [tokenize(t) for t in tgt]


def build_vocabulary(sentences, min_count):
    """Specials, then the words seen at least min_count times, in order of first occurrence."""
    count = {}
    for s in sentences:
        for w in s:
            count[w] = count.get(w, 0) + 1  # dicts keep insertion order: first occurrence
    words = SPECIALS + [w for w, n in count.items() if n >= min_count and w not in SPECIALS]
    return words, {w: i for i, w in enumerate(words)}


def encode(sentences, ids, max_length):
    """Word ids of each sentence, cut to max_length - 1 words (<sos> + words fits max_length)."""
    return [[ids.get(w, UNK) for w in s[:max_length - 1]] for s in sentences]


# ----------------------------------------------------------------------------- batch order
class MT19937_64:
    """The 64-bit Mersenne Twister (std::mt19937_64), seeded as std::mt19937_64(seed)."""
    N, M, MASK = 312, 156, (1 << 64) - 1
    UPPER, LOWER = 0xFFFFFFFF80000000, 0x7FFFFFFF

    def __init__(self, seed):
        s = [seed & self.MASK]
        for i in range(1, self.N):
            s.append((6364136223846793005 * (s[-1] ^ (s[-1] >> 62)) + i) & self.MASK)
        self.state, self.index = s, self.N

    def _regenerate(self):
        s, n = self.state, self.N
        for i in range(n):
            y = (s[i] & self.UPPER) | (s[(i + 1) % n] & self.LOWER)
            s[i] = s[(i + self.M) % n] ^ (y >> 1) ^ (0xB5026F5AA96619E9 if y & 1 else 0)
        self.index = 0

    def next(self):
        if self.index >= self.N:
            self._regenerate()
        y = self.state[self.index]
        self.index += 1
        y ^= (y >> 29) & 0x5555555555555555
        y ^= (y << 17) & 0x71D67FFFEDA60000
        y ^= (y << 37) & 0xFFF7EEE000000000
        return y ^ (y >> 43)

    def below(self, n):
        """Uniform in [0, n) by rejection, as tapegrad's Generator::below."""
        limit = self.MASK - self.MASK % n
        while True:
            r = self.next()
            if r < limit:
                return r % n


def plan_batches(lengths, batch_size, seed, bucketing=True, shuffle=True):
    """tapegrad's plan_batches: shuffle, sort by length within pools of 50 batches
    (stable), cut into batches, shuffle the batches."""
    g = MT19937_64(seed)

    def shuffle_in_place(v):
        for i in range(len(v), 1, -1):
            j = g.below(i)
            v[i - 1], v[j] = v[j], v[i - 1]

    rows = list(range(len(lengths)))
    if shuffle:
        shuffle_in_place(rows)
    if bucketing:
        pool = 50 * batch_size
        for p in range(0, len(rows), pool):
            rows[p:p + pool] = sorted(rows[p:p + pool], key=lambda r: lengths[r])
    batches = [rows[i:i + batch_size] for i in range(0, len(rows), batch_size)]
    if bucketing and shuffle:
        shuffle_in_place(batches)
    return batches


def make_batch(torch, source, target, rows):
    """Padded tensors of the pairs `rows`: the source's targets (words + <eos>), the
    target's decoder inputs (<sos> + words) and targets, and both sides' lengths."""
    def pad(seqs):
        T = max(len(s) for s in seqs)
        return torch.tensor([s + [PAD] * (T - len(s)) for s in seqs], dtype=torch.int64)

    src = [source[r] + [EOS] for r in rows]
    tgt = [target[r] for r in rows]
    return {"source": pad(src), "source_lengths": torch.tensor([len(s) for s in src], dtype=torch.int64),
            "inputs": pad([[SOS] + t for t in tgt]), "targets": pad([t + [EOS] for t in tgt]),
            "lengths": torch.tensor([len(t) + 1 for t in tgt], dtype=torch.int64)}


# ----------------------------------------------------------------------------- model
def build(torch, source_vocab, target_vocab, embed=256, hidden=256, latent=64, variational=False, dropout=0.2,
          posterior="encoder"):
    """The translator (deterministic, or VNMT with variational=True) as an nn.Module.
    posterior="embeddings": VNMT's q reads the mean of the target's word embeddings
    instead of the encoder's states over the target."""
    assert posterior in ("encoder", "embeddings"), posterior
    nn = torch.nn
    F = torch.nn.functional
    from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

    E, H, Z = embed, hidden, latent

    def run_gru(gru, x, lengths, h0=None):
        """The GRU over the first lengths[b] steps of each row, padded back with zeros."""
        packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
        out, _ = gru(packed, h0)
        return pad_packed_sequence(out, batch_first=True, total_length=x.shape[1])[0]

    def real_positions(lengths, T):
        """[B, T] bool, True at t < lengths[b]."""
        return torch.arange(T).unsqueeze(0) < lengths.unsqueeze(1)

    class Translator(nn.Module):
        def __init__(self):
            super().__init__()
            self.variational, self.p = variational, dropout
            # Registered in tapegrad's order (the VNMT-only modules exist only with z).
            self.source_embedding = nn.Embedding(source_vocab, E, padding_idx=PAD)
            self.target_embedding = nn.Embedding(target_vocab, E, padding_idx=PAD)
            self.encoder = nn.GRU(E, H, batch_first=True, bidirectional=True)
            self.to_initial = nn.Linear(2 * H, H)
            if variational:
                self.prior_hidden = nn.Linear(2 * H, H)
                self.prior_mu = nn.Linear(H, Z)
                self.prior_logvar = nn.Linear(H, Z)
                self.posterior_hidden = nn.Linear(2 * H + (E if posterior == "embeddings" else 2 * H), H)
                self.posterior_mu = nn.Linear(H, Z)
                self.posterior_logvar = nn.Linear(H, Z)
                self.from_z = nn.Linear(Z, H)
            self.decoder = nn.GRU(E + (H if variational else 0), H, batch_first=True)
            self.attention_query = nn.Linear(H, 2 * H, bias=False)
            self.attention_out = nn.Linear(3 * H, H)
            self.to_vocab = nn.Linear(H, target_vocab)

        def drop(self, x):
            return F.dropout(x, self.p, self.training) if self.p > 0 else x

        def summary(self, ids, lengths, embedding):
            """Encoder states over embedding(ids) [B, S, 2H] and their mean over the real positions."""
            states = run_gru(self.encoder, self.drop(embedding(ids)), lengths)
            return states, states.sum(1) / lengths.unsqueeze(1).to(states.dtype)

        def encode_source(self, b):
            states, m_x = self.summary(b["source"], b["source_lengths"], self.source_embedding)
            S = states.shape[1]
            mask = torch.zeros(b["source"].shape, dtype=states.dtype)
            mask = mask.masked_fill(~real_positions(b["source_lengths"], S), float("-inf")).unsqueeze(1)
            return states, m_x, mask  # mask [B, 1, S], additive

        def prior(self, m_x):
            u = torch.tanh(self.prior_hidden(m_x))
            return self.prior_mu(u), self.prior_logvar(u)

        def posterior(self, m_x, b):
            if posterior == "embeddings":  # the pad row is zero: the sum covers the real words
                words = self.drop(self.target_embedding(b["targets"]))
                m_y = words.sum(1) / b["lengths"].unsqueeze(1).to(words.dtype)
            else:
                _, m_y = self.summary(b["targets"], b["lengths"], self.target_embedding)
            u = torch.tanh(self.posterior_hidden(torch.cat([m_x, m_y], 1)))
            return self.posterior_mu(u), self.posterior_logvar(u)

        def attend(self, s, states, mask):
            q = self.attention_query(s)                                             # [B, T, 2H]
            scores = torch.matmul(q, states.transpose(1, 2)) / math.sqrt(states.shape[-1]) + mask
            context = torch.matmul(torch.softmax(scores, -1), states)              # [B, T, 2H]
            return torch.tanh(self.attention_out(torch.cat([context, s], 2)))      # [B, T, H]

        def decode(self, b, states, m_x, mask, z):
            """Attention outputs o at the real target positions [N, H], sentence by sentence;
            also the decoder states [B, T, H]."""
            x = self.drop(self.target_embedding(b["inputs"]))
            if self.variational:
                e = torch.tanh(self.from_z(z))
                x = torch.cat([x, e.unsqueeze(1).expand(-1, x.shape[1], -1)], 2)
            s0 = torch.tanh(self.to_initial(m_x)).unsqueeze(0)
            s = run_gru(self.decoder, x, b["lengths"], s0)
            o = self.drop(self.attend(s, states, mask))
            return o[real_positions(b["lengths"], o.shape[1])], s

        def forward(self, b, beta, eps=None):
            """The training loss of batch b with KL weight beta and its parts; eps: the
            posterior's noise [B, Z] (drawn with randn when not given)."""
            B = b["lengths"].shape[0]
            states, m_x, mask = self.encode_source(b)
            out = {"source_states": states, "source_summary": m_x}
            z = None
            if self.variational:
                q_mu, q_logvar = self.posterior(m_x, b)
                p_mu, p_logvar = self.prior(m_x)
                if eps is None:
                    eps = torch.randn_like(q_mu)
                z = q_mu + torch.exp(0.5 * q_logvar) * eps
                # KL(N(q_mu, q_var) || N(p_mu, p_var)) per pair, summed over the latent axis.
                kl = 0.5 * (p_logvar - q_logvar + (q_logvar.exp() + (q_mu - p_mu) ** 2) / p_logvar.exp() - 1)
                out.update(post_mu=q_mu, post_logvar=q_logvar, prior_mu=p_mu, prior_logvar=p_logvar, z=z,
                           kl=kl.sum(1))
            o, s = self.decode(b, states, m_x, mask, z)
            real = real_positions(b["lengths"], b["targets"].shape[1])
            logits = self.to_vocab(o)
            nll = F.cross_entropy(logits, b["targets"][real], reduction="none")
            out.update(token_nll=nll, decoder_states=s, logits=logits)
            out["nll"] = nll.sum()
            out["kl_sum"] = out["kl"].sum() if self.variational else torch.zeros((), dtype=nll.dtype)
            out["loss"] = (out["nll"] + beta * out["kl_sum"]) / B
            return out

    return Translator()


def kl_weight(step, warmup=2000):
    """tapegrad's linear KLSchedule: min(1, step / warmup), step = optimiser steps so far."""
    return min(1.0, step / max(1, warmup))


# ----------------------------------------------------------------------------- run
def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default="data/bible-en-es", help="folder of {train,valid,test}.{en,es}")
    p.add_argument("--source", default="en")
    p.add_argument("--target", default="es")
    p.add_argument("--variational", action="store_true", help="VNMT (default: the deterministic model)")
    p.add_argument("--posterior", choices=["encoder", "embeddings"], default="encoder",
                   help="what VNMT's posterior reads of the target (as tapegrad-vae's --posterior)")
    p.add_argument("--steps", type=int, default=0, help="training steps (0: --epochs)")
    p.add_argument("--epochs", type=float, default=1.0, help="used when --steps is 0")
    p.add_argument("--time-budget", type=float, default=0.0, help="minutes: stop once training took this long")
    p.add_argument("--threads", type=int, default=2, help="torch (OpenMP) threads, also OpenBLAS's")
    p.add_argument("--blas-threads", type=int, default=0, help="OpenBLAS threads (0: --threads)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--reshuffle", action="store_true",
                   help="plan epoch e with seed * 1000003 + e (tapegrad-vae train) instead of cycling --seed's plan")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--clip", type=float, default=5.0)
    p.add_argument("--kl-warmup", type=int, default=2000)
    p.add_argument("--embed", type=int, default=256)
    p.add_argument("--hidden", type=int, default=256)
    p.add_argument("--latent", type=int, default=64)
    p.add_argument("--dropout", type=float, default=0.2)
    p.add_argument("--min-count", type=int, default=2)
    p.add_argument("--max-length", type=int, default=80)
    p.add_argument("--warmup", type=int, default=20, help="steps excluded from the timing statistics")
    p.add_argument("--no-eval", action="store_true", help="no validation after training (speed runs)")
    p.add_argument("--print-every", type=int, default=0, help="print the loss every this many steps (0: never)")
    p.add_argument("--json", default="", help="write the result to this file")
    args = p.parse_args()
    if args.posterior != "encoder" and not args.variational:
        p.error("--posterior applies to VNMT only: add --variational")
    return args


def setup_torch(args):
    """Thread counts go to the environment before torch (and its OpenBLAS) loads."""
    n, nb = args.threads, args.blas_threads or args.threads
    os.environ["OMP_NUM_THREADS"] = os.environ["MKL_NUM_THREADS"] = str(n)
    os.environ["OPENBLAS_NUM_THREADS"] = str(nb)
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    import torch
    torch.set_num_threads(n)
    torch.set_num_interop_threads(1)
    return torch


def peak_rss_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux


def timing_stats(seconds):
    """Per-step statistics in ms, the keys of the other references' "timing"."""
    if not seconds:
        return None
    deciles = statistics.quantiles(seconds, n=10) if len(seconds) >= 10 else [min(seconds)] + [max(seconds)] * 8
    return {"timed_steps": len(seconds), "median_ms": 1e3 * statistics.median(seconds),
            "mean_ms": 1e3 * statistics.fmean(seconds), "p10_ms": 1e3 * deciles[0], "p90_ms": 1e3 * deciles[-1],
            "total_s": sum(seconds)}


def validate(torch, model, source, target, batch_size, seed):
    """Sums over the validation pairs (batches in file order): NLL, and for VNMT the KL,
    with one posterior sample from a generator seeded with `seed`."""
    model.eval()
    torch.manual_seed(seed)
    nll = kl = 0.0
    tokens = 0
    with torch.no_grad():
        for start in range(0, len(target), batch_size):
            b = make_batch(torch, source, target, list(range(start, min(len(target), start + batch_size))))
            out = model(b, 1.0)
            nll += out["nll"].item()
            kl += out["kl_sum"].item()
            tokens += int(b["lengths"].sum())
    n = len(target)
    return {"sentences": n, "tokens": tokens, "nll": nll / n, "kl": kl / n, "neg_elbo": (nll + kl) / n,
            "ppl": math.exp((nll + kl) / tokens)}


def main():
    args = parse_args()
    torch = setup_torch(args)
    torch.manual_seed(args.seed)
    print("# translation_reference.py " + " ".join(sys.argv[1:]))
    print("# torch %s, python %s, threads %d (intra-op), OpenBLAS threads %d" % (
        torch.__version__, sys.version.split()[0], torch.get_num_threads(), args.blas_threads or args.threads))
    rss_import = peak_rss_mib()

    train_src, train_tgt = read_split(args.data, "train", args.source, args.target)
    source_words, source_ids = build_vocabulary(train_src, args.min_count)
    target_words, target_ids = build_vocabulary(train_tgt, args.min_count)
    source = encode(train_src, source_ids, args.max_length)
    target = encode(train_tgt, target_ids, args.max_length)
    del train_src, train_tgt
    lengths = [len(t) + 1 for t in target]
    print("# data: %s: %d training pairs, %d target tokens; vocabularies %s %d, %s %d" % (
        args.data, len(target), sum(lengths), args.source, len(source_words), args.target, len(target_words)))

    model = build(torch, len(source_words), len(target_words), args.embed, args.hidden, args.latent,
                  args.variational, args.dropout, args.posterior)
    nparams = sum(p.numel() for p in model.parameters())
    print("# model: %s, embed %d, hidden %d%s, dropout %g; params %d" % (
        "VNMT" if args.variational else "deterministic attention", args.embed, args.hidden,
        ", latent %d" % args.latent if args.variational else "", args.dropout, nparams))
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    rss_setup = peak_rss_mib()

    steps = args.steps or int(math.ceil(args.epochs * math.ceil(len(target) / args.batch_size)))

    def plan_of(epoch):
        seed = args.seed * 1000003 + epoch if args.reshuffle else args.seed
        return plan_batches(lengths, args.batch_size, seed)

    model.train()
    times, tokens, sentences = [], [], []
    epoch, plan, at = 0, plan_of(0), 0
    wall0 = time.perf_counter()
    step, loss = 0, None
    while step < steps:
        if at == len(plan):  # the next epoch: the same plan again unless --reshuffle
            epoch, at = epoch + 1, 0
            if args.reshuffle:
                plan = plan_of(epoch)
        b = make_batch(torch, source, target, plan[at])  # not timed
        at += 1
        beta = kl_weight(step, args.kl_warmup)
        t0 = time.perf_counter()
        out = model(b, beta)
        opt.zero_grad(set_to_none=True)
        out["loss"].backward()
        if args.clip > 0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), args.clip)
        opt.step()
        loss = out["loss"].item()
        times.append(time.perf_counter() - t0)
        tokens.append(int(b["lengths"].sum()))
        sentences.append(len(b["lengths"]))
        step += 1
        if args.print_every and step % args.print_every == 0:
            B = sentences[-1]
            print("  step %6d  loss %9.4f  nll/sentence %9.4f  kl/sentence %8.4f  beta %.3f  %.1f ms" % (
                step, loss, out["nll"].item() / B, out["kl_sum"].item() / B, beta, 1e3 * times[-1]))
            sys.stdout.flush()
        if args.time_budget > 0 and time.perf_counter() - wall0 >= 60 * args.time_budget:
            print("# time budget of %g min reached after %d steps" % (args.time_budget, step))
            break
    train_wall = time.perf_counter() - wall0
    rss_train = peak_rss_mib()

    res = {"script": "translation_reference.py", "argv": sys.argv[1:], "torch": torch.__version__,
           "threads": args.threads, "blas_threads": args.blas_threads or args.threads,
           "model": "vnmt" if args.variational else "translate", "params": nparams,
           "source_vocab": len(source_words), "vocab": len(target_words),
           "config": {"embed": args.embed, "hidden": args.hidden, "latent": args.latent if args.variational else 0,
                      "dropout": args.dropout, "batch_size": args.batch_size, "lr": args.lr, "clip": args.clip,
                      "kl_warmup": args.kl_warmup, "min_count": args.min_count, "max_length": args.max_length,
                      "seed": args.seed, "reshuffle": args.reshuffle},
           "steps": step, "epochs": step / len(plan), "last_loss": loss, "train_wall_s": train_wall}
    if not args.no_eval:
        valid_src, valid_tgt = read_split(args.data, "valid", args.source, args.target)
        v = validate(torch, model, encode(valid_src, source_ids, args.max_length),
                     encode(valid_tgt, target_ids, args.max_length), args.batch_size, args.seed + 1000)
        res["valid"] = v
        print("valid (%d pairs, %d target tokens): NLL %.4f  KL %.4f  -ELBO %.4f nats per sentence, ppl %.2f" % (
            v["sentences"], v["tokens"], v["nll"], v["kl"], v["neg_elbo"], v["ppl"]))

    st = timing_stats(times[args.warmup:])
    res["timing"] = st
    res["peak_rss_mib_after_import"] = rss_import
    res["peak_rss_mib_after_setup"] = rss_setup
    res["peak_rss_mib_after_train"] = rss_train
    res["peak_rss_mib"] = peak_rss_mib()
    if st:
        timed_tokens = sum(tokens[args.warmup:])
        res["tokens_per_s"] = timed_tokens / st["total_s"]
        res["sentences_per_s"] = sum(sentences[args.warmup:]) / st["total_s"]
        res["mean_tokens_per_step"] = timed_tokens / st["timed_steps"]
        print("timing: %d timed steps (first %d excluded)  median %.2f ms/step  mean %.2f  p10 %.2f  p90 %.2f" % (
            st["timed_steps"], args.warmup, st["median_ms"], st["mean_ms"], st["p10_ms"], st["p90_ms"]))
        print("timing: %.0f target tokens/s (%.1f tokens/step)" % (res["tokens_per_s"], res["mean_tokens_per_step"]))
    else:
        print("timing: not enough steps (need more than --warmup %d)" % args.warmup)
    print("train wall %.1f s; peak RSS %.1f MiB after import, %.1f after data + model, %.1f after training" % (
        train_wall, rss_import, rss_setup, rss_train))
    try:
        res["loadavg"] = list(os.getloadavg())
    except OSError:
        pass
    if args.json:
        with open(args.json, "w") as f:
            json.dump(res, f, indent=1)


if __name__ == "__main__":
    main()
