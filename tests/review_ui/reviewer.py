"""Run by the tests with .ls-venv's python: Label Studio's own SDK does what a reviewer (or their tools) does.

stdin: {"command": "annotate", "url", "token", "annotations": [{"task": id, "result": [...]}]}
    or {"command": "brush", "masks": [[[0, 1, ...], ...], ...], "rles": [[...], ...], "sizes": [[h, w], ...]}
stdout: JSON.
"""

import json
import sys

import numpy as np

request = json.load(sys.stdin)
if request["command"] == "annotate":
    from label_studio_sdk import LabelStudio

    ls = LabelStudio(base_url=request["url"], api_key=request["token"])
    ids = [ls.annotations.create(id=a["task"], result=a["result"]).id for a in request["annotations"]]
    print(json.dumps({"annotations": ids}))
elif request["command"] == "brush":
    from label_studio_sdk.converter.brush import decode_rle, mask2rle

    encoded = [mask2rle(np.array(m, dtype=np.uint8) * 255) for m in request["masks"]]
    decoded = [(decode_rle(r).reshape(h, w, 4)[:, :, 3] > 0).astype(int).tolist() for r, (h, w) in zip(request["rles"], request["sizes"])]
    print(json.dumps({"encoded": [list(map(int, e)) for e in encoded], "decoded": decoded}))
