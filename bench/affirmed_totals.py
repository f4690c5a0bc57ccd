"""Cost of the affirmed-only totals (SearchResponse.total_affirmed): A (with) vs B (not asked of the backend:
SearchEngine._counts_affirmed patched to False; before the counts came from the lexical leg's matches, B patched
out SearchEngine._affirmed_matches, a second full-depth search),
interleaved per query, order alternating per repetition, medians and per-query ratios. Run from the repo root
on an index in var/index: ``PYTHONPATH=$PWD python bench/affirmed_totals.py 9``."""
import os, sys, tempfile, time, statistics
os.environ.setdefault("MEDSEARCH_SECURITY__SECRETS_DIR", tempfile.mkdtemp())
from search_api.engine_factory import build_engine
from indexer.settings import Settings
from indexer.encoders import load_encoder
from indexer.backend.filters import DocumentFilter
from search_api.models import SearchRequest
import search_api.retrieval as R
print(open("/proc/loadavg").read().strip())
s = Settings()
e = build_engine(s, load_encoder(s.encoder), clip=False)
qs = ["IRM cérébrale AVC ischémique","embolie pulmonaire","épanchement pleural","pneumothorax","fracture du col du fémur",
      "nodule pulmonaire","infarctus du myocarde","pneumopathie","sclérose en plaques","méningiome","cancer du poumon","appendicite"]
orig = R.SearchEngine.__dict__["_counts_affirmed"]  # the staticmethod object, to put back as it was
A, B = [], []
for rep in range(int(sys.argv[1]) if len(sys.argv)>1 else 7):
    for q in qs:
        for variant in ("A","B") if rep % 2 == 0 else ("B","A"):
            R.SearchEngine._counts_affirmed = orig if variant == "A" else staticmethod(lambda plan: False)
            for mode in ("lexical","hybrid"):
                t = time.perf_counter(); e.search(SearchRequest(q=q, mode=mode), DocumentFilter()); dt = time.perf_counter()-t
                if rep: (A if variant=="A" else B).append((mode, q, dt))
for mode in ("lexical","hybrid"):
    ratios = [a[2]/b[2] for a,b in zip([x for x in A if x[0]==mode],[x for x in B if x[0]==mode])]
    ma = statistics.median(x[2] for x in A if x[0]==mode)*1000; mb = statistics.median(x[2] for x in B if x[0]==mode)*1000
    print(mode, f"with affirmed count median {ma:.2f} ms, without {mb:.2f} ms, ratio of medians {ma/mb:.3f}, median per-query ratio {statistics.median(ratios):.3f}, n={len(ratios)}")
print(open("/proc/loadavg").read().strip())
