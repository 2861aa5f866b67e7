#!/usr/bin/env node
// zigbee-herdsman's ZCL parser (npm zigbee-herdsman, pinned in tools/zoh/package.json,
// installed by tools/zoh/install.sh) over ZCL frames we built: one reader that shares no
// code with ours, for tests/host/test_han_zcl_herdsman.py (issue 12).
//
// Input: JSON lines, from the arguments (one frame each) or else from stdin:
//   {"cluster": 1794, "hex": "18010100..."}            plus any "tag", echoed back
// Output: one JSON line per input line, in order:
//   {"ok": true, "tag": ..., "cluster": "seMetering", "header": {"frameType": 0,
//    "manufacturerSpecific": false, "direction": 1, "disableDefaultResponse": true,
//    "manufacturerCode": null, "sequence": 1, "commandId": 1}, "command": "readRsp",
//    "payload": [{"attrId": 0, "attrName": "currentSummDelivered", "status": 0,
//                 "dataType": 37, "attrData": 1234567}, ...]}
//   {"ok": false, "tag": ..., "error": "..."}           herdsman refused the frame
// Attribute records (Read / Report / Read Attributes Response, Configure Reporting,
// Discover Attributes Response) get the name herdsman's cluster definition gives their id
// ("attrName", null when it has none). Values as herdsman returns them; for JSON a bigint
// becomes a decimal string and a Buffer (octet string) {"octets": hex}.
//
// Only herdsman's ZCL module is loaded (dist/zspec/zcl): the adapters and their serialport
// bindings, which install.sh never builds (no install scripts), are not needed.
"use strict";

const path = require("node:path");
const readline = require("node:readline");

const Zcl = require(
    path.join(__dirname, "node_modules", "zigbee-herdsman", "dist", "zspec", "zcl"));

function plain(v) {
    // JSON-safe copy: bigint as a decimal string, Buffer as {"octets": hex}.
    if (typeof v === "bigint") return v.toString();
    if (Buffer.isBuffer(v)) return { octets: v.toString("hex") };
    if (Array.isArray(v)) return v.map(plain);
    if (v !== null && typeof v === "object") {
        const o = {};
        for (const [k, x] of Object.entries(v)) o[k] = plain(x);
        return o;
    }
    return v === undefined ? null : v;
}

function named(cluster, manuf, rec) {
    if (rec === null || typeof rec !== "object" || typeof rec.attrId !== "number") return rec;
    const a = Zcl.Utils.getClusterAttribute(cluster, rec.attrId, manuf);
    return { ...rec, attrName: a ? a.name : null };
}

function parse(line) {
    const req = JSON.parse(line);
    const out = { tag: req.tag === undefined ? null : req.tag };
    try {
        const buf = Buffer.from(req.hex, "hex");
        const header = Zcl.Header.fromBuffer(buf);
        if (!header) throw new Error("no ZCL header");
        const frame = Zcl.Frame.fromBuffer(req.cluster, header, buf, {});
        const fc = frame.header.frameControl;
        const manuf = frame.header.manufacturerCode;
        let payload = frame.payload;
        if (Array.isArray(payload)) {
            payload = payload.map((r) => named(frame.cluster, manuf, r));
        } else if (payload && Array.isArray(payload.attrInfos)) {
            const infos = payload.attrInfos.map((r) => named(frame.cluster, manuf, r));
            payload = { ...payload, attrInfos: infos };
        }
        Object.assign(out, {
            ok: true,
            cluster: frame.cluster.name,
            header: {
                frameType: fc.frameType,
                manufacturerSpecific: fc.manufacturerSpecific,
                direction: fc.direction,
                disableDefaultResponse: fc.disableDefaultResponse,
                reservedBits: fc.reservedBits,
                manufacturerCode: manuf === undefined ? null : manuf,
                sequence: frame.header.transactionSequenceNumber,
                commandId: frame.header.commandIdentifier,
            },
            command: frame.command.name,
            payload: plain(payload),
        });
    } catch (e) {
        Object.assign(out, { ok: false, error: String(e && e.message ? e.message : e) });
    }
    return JSON.stringify(out);
}

function main() {
    const args = process.argv.slice(2);
    if (args.length > 0) {
        for (const a of args) process.stdout.write(parse(a) + "\n");
        return;
    }
    const rl = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
    rl.on("line", (line) => {
        if (line.trim()) process.stdout.write(parse(line) + "\n");
    });
}

main();
