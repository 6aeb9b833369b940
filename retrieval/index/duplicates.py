"""Near-duplicate groups: images whose vectors are closer than a threshold, joined
transitively (a resized or re-encoded copy lands in its original's group)."""

from __future__ import annotations

from retrieval.index.ids import image_ids
from retrieval.index.vector_index import VectorIndex
from retrieval.store import Store


def duplicate_groups(
    store: Store, index: VectorIndex, dim: int, threshold: float, chunk: int = 2000
) -> list[list[tuple[int, float]]]:
    """Groups of two or more image ids, with each member's similarity to the group's first
    (closest-knit) member; largest groups first."""
    parent: dict[int, int] = {}

    def find(x: int) -> int:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for ids, vectors in store.iter_vectors(dim, chunk):
        for query_id, (_, hits) in zip(
            ids, index.range_search(vectors, threshold), strict=True
        ):
            # A hit may be another photo's view (retrieval.index.ids): a crop of a wide
            # photo is a near-duplicate of it.
            for hit in image_ids(hits):
                if hit != query_id:
                    parent[find(int(hit))] = find(int(query_id))
    members: dict[int, list[int]] = {}
    for image_id in list(parent):
        members.setdefault(find(image_id), []).append(image_id)
    groups = []
    for group_ids in members.values():
        if len(group_ids) < 2:
            continue
        ordered_ids = sorted(group_ids)
        vectors = store.vectors(ordered_ids, dim)
        sims = vectors @ vectors.T
        anchor = int(sims.sum(axis=1).argmax())
        order = sorted(range(len(ordered_ids)), key=lambda i: -sims[anchor, i])
        # float16 storage can put a vector's similarity to itself a hair above 1.
        groups.append(
            [(ordered_ids[i], min(1.0, float(sims[anchor, i]))) for i in order]
        )
    groups.sort(key=lambda g: (-len(g), g[0][0]))
    return groups
