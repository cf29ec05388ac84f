"""The case as CASE/UCO JSON-LD (CASE 1.5 / UCO 1.5), for forensic tools that read it.

Plain JSON, no rdflib: the graph is built from the folded journal and written as one
`{"@context", "@graph"}` document. Every node's @id is a UUIDv5 of the case id and what it
stands for (an entry's seq, an item id, a key's fingerprint), so the same journal gives the
same file byte for byte, and the ids end in a UUID as UCO's identifier shape advises.
The mapping (docs/FORMAT.md "Exports"): members -> `uco-identity:Person` with their key's
fingerprint as an `ExternalReference`; irkit -> `uco-tool:Tool`; items -> `uco-observable:File`
with `FileFacet` and `ContentDataFacet` (hashes); collection, custody and relocation entries ->
`case-investigation:InvestigativeAction` (performer, instrument, object, result, location);
each action's items -> one `case-investigation:ProvenanceRecord` per item (exhibit number).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from typing import Any

from irkit import __version__
from irkit.record.entry import Entry

CONTEXT: dict[str, str] = {
    "case-investigation": "https://ontology.caseontology.org/case/investigation/",
    "uco-action": "https://ontology.unifiedcyberontology.org/uco/action/",
    "uco-core": "https://ontology.unifiedcyberontology.org/uco/core/",
    "uco-identity": "https://ontology.unifiedcyberontology.org/uco/identity/",
    "uco-location": "https://ontology.unifiedcyberontology.org/uco/location/",
    "uco-observable": "https://ontology.unifiedcyberontology.org/uco/observable/",
    "uco-tool": "https://ontology.unifiedcyberontology.org/uco/tool/",
    "uco-types": "https://ontology.unifiedcyberontology.org/uco/types/",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
}
# the namespace of every node id: fixed, so ids are stable across runs and machines
_NAMESPACE = uuid.UUID("6e3c1f0a-8b1d-5c7e-9f2a-69726b697400")

# what each exported kind is called as an action, and what it says about the items
ACTION_NAMES = {
    "evidence.collected": "collected",
    "evidence.relocated": "relocated",
    "custody.released": "released for transfer",
    "custody.accepted": "accepted in transfer",
    "custody.checked": "checked",
    "custody.stored": "stored",
    "custody.returned": "returned",
    "custody.disposed": "disposed of",
}


def _dt(text: str) -> dict[str, str]:
    return {"@type": "xsd:dateTime", "@value": text}


def _ref(node_id: str) -> dict[str, str]:
    return {"@id": node_id}


class _Graph:
    def __init__(self, case_id: str) -> None:
        self.case_id = case_id
        self.nodes: list[dict[str, Any]] = []
        self._ids: set[str] = set()

    def id(self, what: str, key: str) -> str:
        """`kb:<what>-<uuid5(case id, what, key)>`: stable and unique per (what, key)."""
        name = f"{self.case_id}\x00{what}\x00{key}"
        return f"kb:{what}-{uuid.uuid5(_NAMESPACE, name)}"

    def add(self, node: dict[str, Any]) -> str:
        if node["@id"] not in self._ids:
            self._ids.add(node["@id"])
            self.nodes.append(node)
        return str(node["@id"])


def _person(g: _Graph, member: dict[str, Any]) -> str:
    fp = str(member["fingerprint"])
    node: dict[str, Any] = {
        "@id": g.id("person", fp),
        "@type": "uco-identity:Person",
        "uco-core:name": str(member["name"]),
        "uco-core:description": f"irkit member, role {member['role']}",
        "uco-core:externalReference": [
            {
                "@id": g.id("key-reference", fp),
                "@type": "uco-core:ExternalReference",
                "uco-core:definingContext": "irkit Ed25519 signing key fingerprint",
                "uco-core:externalIdentifier": fp,
            }
        ],
    }
    if member.get("contact"):
        # free text (a phone number, an e-mail address, both): UCO's ContactFacet holds
        # it as a note rather than guessing which ContactPhone/ContactEmail it is
        node["uco-core:hasFacet"] = [
            {
                "@id": g.id("contact-facet", fp),
                "@type": "uco-observable:ContactFacet",
                "uco-observable:displayName": str(member["name"]),
                "uco-observable:contactNote": [str(member["contact"])],
            }
        ]
    return g.add(node)


def _location(g: _Graph, text: str) -> str:
    return g.add(
        {
            "@id": g.id("location", text),
            "@type": "uco-location:Location",
            "uco-core:name": text,
        }
    )


def _device(g: _Graph, body: dict[str, Any]) -> str | None:
    """The source system of a collection: its host name, serial number and model (a
    `DeviceFacet`), when the collection names any of them."""
    host, serial, model = (str(body.get(k) or "") for k in ("source_host", "source_serial",
                                                            "source_model"))  # fmt: skip
    if not (host or serial):
        return None
    node: dict[str, Any] = {
        "@id": g.id("device", host if not (serial or model) else f"{host}\x00{serial}\x00{model}"),
        "@type": "uco-observable:Device",
        "uco-core:name": host or serial,
        "uco-core:description": "the system the evidence came from"
        + (" (hostname)" if host else " (serial number)"),
    }
    if serial or model:
        facet: dict[str, Any] = {
            "@id": g.id("device-facet", f"{host}\x00{serial}\x00{model}"),
            "@type": "uco-observable:DeviceFacet",
        }
        if serial:
            facet["uco-observable:serialNumber"] = serial
        if model:
            facet["uco-observable:model"] = model
        node["uco-core:hasFacet"] = [facet]
    return g.add(node)


def _addresses(g: _Graph, body: dict[str, Any]) -> list[str]:
    """The source's MAC and IP addresses, each an observable with its address facet."""
    import ipaddress

    out: list[str] = []
    typed = [("MACAddress", str(m)) for m in body.get("source_mac", [])]
    for ip in body.get("source_ip", []):
        typed.append((f"IPv{ipaddress.ip_address(str(ip)).version}Address", str(ip)))
    for kind, value in typed:
        out.append(
            g.add(
                {
                    "@id": g.id(kind.lower(), value),
                    "@type": f"uco-observable:{kind}",
                    "uco-core:hasFacet": [
                        {
                            "@id": g.id(f"{kind.lower()}-facet", value),
                            "@type": f"uco-observable:{kind}Facet",
                            "uco-observable:addressValue": value,
                        }
                    ],
                }
            )
        )
    return out


def _file(g: _Graph, item: dict[str, Any]) -> str:
    item_id = str(item["id"])
    path = str(item["path"])
    hashes = [
        {
            "@id": g.id("hash-sha256", item_id),
            "@type": "uco-types:Hash",
            "uco-types:hashMethod": "SHA256",
            "uco-types:hashValue": {"@type": "xsd:hexBinary", "@value": str(item["sha256"])},
        }
    ]
    if item.get("md5"):
        hashes.append(
            {
                "@id": g.id("hash-md5", item_id),
                "@type": "uco-types:Hash",
                "uco-types:hashMethod": "MD5",
                "uco-types:hashValue": {"@type": "xsd:hexBinary", "@value": str(item["md5"])},
            }
        )
    size = {"@type": "xsd:integer", "@value": str(item["size"])}
    return g.add(
        {
            "@id": g.id("file", item_id),
            "@type": "uco-observable:File",
            "uco-core:name": item_id,
            "uco-core:hasFacet": [
                {
                    "@id": g.id("file-facet", item_id),
                    "@type": "uco-observable:FileFacet",
                    "uco-observable:fileName": path.rsplit("/", 1)[-1] or path,
                    "uco-observable:filePath": path,
                    "uco-observable:sizeInBytes": size,
                    "uco-observable:modifiedTime": _dt(str(item["mtime"])),
                    "uco-observable:accessedTime": _dt(str(item["atime"])),
                },
                {
                    "@id": g.id("content-facet", item_id),
                    "@type": "uco-observable:ContentDataFacet",
                    "uco-observable:sizeInBytes": size,
                    "uco-observable:hash": hashes,
                },
            ],
        }
    )


def _items_of(e: Entry, transfers: dict[str, list[str]]) -> list[str]:
    if e.kind == "evidence.collected":
        return [str(i["id"]) for i in e.body["items"]]
    if e.kind == "evidence.relocated":
        return [str(e.body["item"])]
    if e.kind == "custody.accepted":
        return transfers.get(str(e.body["transfer"]), [])
    return [str(i) for i in e.body.get("items", [])]


def _description(e: Entry, names: dict[str, str]) -> str:
    """What the entry says beyond who, when and which items, in one line."""
    b = e.body
    parts: list[str] = [f"irkit journal entry {e.seq} ({e.kind})"]
    if e.kind == "evidence.collected":
        parts.append(f"collected on host {b['host']}")
        if b.get("description"):
            parts.append(str(b["description"]))
    elif e.kind == "custody.released":
        to = names.get(str(b["to"]), str(b["to"]))
        parts.append(f"transfer {b['transfer']} to {to}, purpose: {b['purpose']}")
        if b.get("method"):
            parts.append(f"method: {b['method']}")
    elif e.kind == "custody.accepted":
        parts.append(f"transfer {b['transfer']} accepted")
        if b.get("condition"):
            parts.append(f"condition: {b['condition']}")
    elif e.kind in ("custody.returned", "custody.disposed"):
        parts.append(f"reason: {b['reason']}")
    elif e.kind == "evidence.relocated":
        parts.append(f"original now reachable at {b['path']} on host {b['host']}")
    checks = b.get("checks") or []
    if checks:
        parts.append(
            "checks: " + ", ".join(f"{c['item']} {'ok' if c['ok'] else 'MISMATCH'}" for c in checks)
        )
    return "; ".join(parts)


def build(entries: Sequence[Entry]) -> dict[str, Any]:
    """The JSON-LD document for a journal's entries (parsed, in order; verify them first)."""
    if not entries or entries[0].kind != "case.opened":
        raise ValueError("a journal starts with case.opened")
    case_id = str(entries[0].body["case_id"])
    g = _Graph(case_id)
    context = {**CONTEXT, "kb": f"urn:irkit:{case_id}:"}
    tool = g.add(
        {
            "@id": g.id("tool", f"irkit {__version__}"),
            "@type": "uco-tool:Tool",
            "uco-core:name": "irkit",
            "uco-tool:version": __version__,
            "uco-tool:toolType": "incident documentation and chain of custody",
        }
    )
    people: dict[str, str] = {}
    names: dict[str, str] = {}
    files: dict[str, str] = {}
    transfers: dict[str, list[str]] = {}
    everything: list[str] = [tool]
    for e in entries:
        b = e.body
        if e.kind in ("case.opened", "member.added"):
            member = b["opener"] if e.kind == "case.opened" else b["member"]
            people[str(member["fingerprint"])] = _person(g, member)
            names[str(member["fingerprint"])] = str(member["name"])
            continue
        if e.kind not in ACTION_NAMES:
            continue
        if e.kind == "custody.released":
            transfers[str(b["transfer"])] = [str(i) for i in b["items"]]
        objects: list[str] = []
        results: list[str] = []
        if e.kind == "evidence.collected":
            device = _device(g, b)
            if device is not None:
                objects.append(device)
            objects.extend(_addresses(g, b))
            for item in b["items"]:
                files[str(item["id"])] = _file(g, item)
        items = [i for i in _items_of(e, transfers) if i in files]
        item_files = [files[i] for i in items]
        if e.kind == "evidence.collected":
            results.extend(item_files)
        else:
            objects.extend(item_files)
        for item_id in items:
            results.append(
                g.add(
                    {
                        "@id": g.id("provenance-record", f"{e.seq}/{item_id}"),
                        "@type": "case-investigation:ProvenanceRecord",
                        "case-investigation:exhibitNumber": item_id,
                        "uco-core:object": [_ref(files[item_id])],
                    }
                )
            )
        action: dict[str, Any] = {
            "@id": g.id("investigative-action", str(e.seq)),
            "@type": "case-investigation:InvestigativeAction",
            "uco-core:name": ACTION_NAMES[e.kind],
            "uco-core:description": _description(e, names),
            "uco-action:startTime": _dt(e.recorded),
            "uco-action:endTime": _dt(e.recorded),
            "uco-action:instrument": _ref(tool),
        }
        if e.actor in people:
            action["uco-action:performer"] = _ref(people[e.actor])
        where = b.get("location")
        if isinstance(where, str) and where:
            action["uco-action:location"] = [_ref(_location(g, where))]
        if objects:
            action["uco-action:object"] = [_ref(x) for x in objects]
        if results:
            action["uco-action:result"] = [_ref(x) for x in results]
        everything.append(g.add(action))
    everything.extend(people.values())
    investigation = {
        "@id": g.id("investigation", case_id),
        "@type": "case-investigation:Investigation",
        "uco-core:name": case_id,
        "uco-core:description": str(entries[0].body["title"]),
        "uco-core:object": [_ref(x) for x in everything],
    }
    return {"@context": context, "@graph": [investigation, *g.nodes]}


def dumps(entries: Sequence[Entry]) -> bytes:
    """The document as UTF-8 bytes: fixed key order and indentation (reproducible)."""
    text = json.dumps(build(entries), indent=2, ensure_ascii=False, sort_keys=True)
    return (text + "\n").encode("utf-8")
