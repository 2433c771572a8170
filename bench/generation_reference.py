"""Generation speed of the PyTorch reference Transformer VAE, on tapegrad's weights.

Imports the reference model (transformer_vae.py in the reference folder, not
copied), loads a tapegrad Transformer VAE checkpoint into it (the parameter names
are PyTorch's, so the state dicts map one to one), and times decoding N prior
samples z ~ N(0, I):
  greedy  the reference's own `greedy`: the whole prefix is decoded again at
          every step (PyTorch's nn.TransformerDecoder keeps no key/value cache);
  beam    beam search of width K written here the same way (each step decodes
          the beams' prefixes), one sentence at a time, finished hypotheses
          ranked by log p / length as tapegrad's beam search does.
Prints one JSON line: sentences/s and tokens/s for each method.
  /usr/bin/python3 bench/generation_reference.py --reference DIR --checkpoint runs/tf/checkpoint.npz
"""
import argparse
import json
import os
import sys
import time


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--reference", required=True, help="folder of transformer_vae.py")
    p.add_argument("--checkpoint", required=True, help="a tapegrad Transformer VAE checkpoint.npz")
    p.add_argument("--n", type=int, default=1000, help="prior samples")
    p.add_argument("--beam", type=int, default=5, help="beam width")
    p.add_argument("--max-length", type=int, default=60, help="tokens per sentence, </s> included")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--methods", default="greedy,beam")
    return p.parse_args()


def main():
    args = parse_args()
    sys.path.insert(0, os.path.abspath(args.reference))
    os.environ["OMP_NUM_THREADS"] = os.environ["OPENBLAS_NUM_THREADS"] = str(args.threads)
    import numpy as np
    import torch
    torch.set_num_threads(args.threads)
    import transformer_vae as ref

    saved = np.load(args.checkpoint)
    meta = json.loads(bytes(saved["meta"]).decode())
    config = meta["config"]
    weights = {k[len("model/"):]: torch.from_numpy(saved[k]) for k in saved.files if k.startswith("model/")}
    V = weights["embedding.weight"].shape[0]
    sys.argv = [sys.argv[0], "--d-model", str(config["d_model"]), "--heads", str(config["heads"]),
                "--ff", str(config["ff"]), "--layers", str(config["layers"]),
                "--latent-size", str(config["latent"]), "--max-positions", str(config["max_positions"])]
    margs = ref.parse_args()
    model = ref.build(torch, margs, V)
    missing, unexpected = model.load_state_dict(weights, strict=False)
    if missing or unexpected:
        sys.exit("checkpoint does not map onto the reference model: missing %s, unexpected %s" % (missing, unexpected))
    model.eval()
    torch.manual_seed(args.seed)
    z = torch.randn(args.n, config["latent"])
    result = {"impl": "pytorch", "n": args.n, "threads": args.threads, "max_length": args.max_length}

    def ids_until_eos(row):
        out = []
        for t in row:
            if t == ref.EOS:
                break
            out.append(t)
        return out

    if "greedy" in args.methods:
        start = time.perf_counter()
        rows = model.greedy(z, args.max_length).tolist()
        seconds = time.perf_counter() - start
        tokens = sum(len(ids_until_eos(r)) for r in rows)
        result["greedy"] = {"seconds": seconds, "sentences_per_s": args.n / seconds, "tokens": tokens}

    @torch.no_grad()
    def beam_search(z1):
        beams, finished = [([], 0.0)], []
        for _ in range(args.max_length):
            tok = torch.tensor([[ref.SOS] + ids for ids, _ in beams])
            h = model.decode(tok, torch.full((len(beams),), tok.shape[1]), z1.expand(len(beams), -1))
            logp = torch.log_softmax(model.outputs2vocab(h[:, -1]), -1)
            scores = torch.tensor([s for _, s in beams]).unsqueeze(1) + logp
            top = torch.topk(scores.flatten(), min(scores.numel(), 2 * args.beam))
            nxt = []
            for score, flat in zip(top.values.tolist(), top.indices.tolist()):
                if len(nxt) == args.beam:
                    break
                b, token = divmod(flat, V)
                if token == ref.EOS:
                    finished.append((beams[b][0], score))
                else:
                    nxt.append((beams[b][0] + [token], score))
            if len(finished) >= args.beam:
                break
            beams = nxt
            if not beams:
                break
        finished += beams  # unfinished at the length limit (or the last beams when enough finished)
        return max(finished, key=lambda b: b[1] / max(1, len(b[0]) + 1))[0]

    if "beam" in args.methods:
        start = time.perf_counter()
        rows = [beam_search(z[i:i + 1]) for i in range(args.n)]
        seconds = time.perf_counter() - start
        result["beam"] = {"width": args.beam, "seconds": seconds, "sentences_per_s": args.n / seconds,
                          "tokens": sum(len(r) for r in rows)}
    print(json.dumps(result))


if __name__ == "__main__":
    main()
