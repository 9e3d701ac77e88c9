import { describe, expect, it } from 'vitest';
import { encodeFields, encodeIndexed, headerListSize, HpackDecoder, HpackError, staticIndex } from './hpack.js';

// RFC 7541 Appendix C.3–C.6: each series runs on one decoder (the dynamic table carries over), with the
// header list, the dynamic table (newest first) and its size after each block.
const APPENDIX_C: ReadonlyArray<{ name: string; tableSize: number; steps: Array<{ hex: string; want: string[]; table: Array<[string, string]>; size: number }> }> = [
  {
    name: "C.3 requests without Huffman",
    tableSize: 4096,
    steps: [
      {
        hex: "828684410f7777772e6578616d706c652e636f6d",
        want: [":method", "GET", ":scheme", "http", ":path", "/", ":authority", "www.example.com"],
        table: [[":authority", "www.example.com"]],
        size: 57,
      },
      {
        hex: "828684be58086e6f2d6361636865",
        want: [":method", "GET", ":scheme", "http", ":path", "/", ":authority", "www.example.com", "cache-control", "no-cache"],
        table: [["cache-control", "no-cache"], [":authority", "www.example.com"]],
        size: 110,
      },
      {
        hex: "828785bf400a637573746f6d2d6b65790c637573746f6d2d76616c7565",
        want: [":method", "GET", ":scheme", "https", ":path", "/index.html", ":authority", "www.example.com", "custom-key", "custom-value"],
        table: [["custom-key", "custom-value"], ["cache-control", "no-cache"], [":authority", "www.example.com"]],
        size: 164,
      },
    ],
  },
  {
    name: "C.4 requests with Huffman",
    tableSize: 4096,
    steps: [
      {
        hex: "828684418cf1e3c2e5f23a6ba0ab90f4ff",
        want: [":method", "GET", ":scheme", "http", ":path", "/", ":authority", "www.example.com"],
        table: [[":authority", "www.example.com"]],
        size: 57,
      },
      {
        hex: "828684be5886a8eb10649cbf",
        want: [":method", "GET", ":scheme", "http", ":path", "/", ":authority", "www.example.com", "cache-control", "no-cache"],
        table: [["cache-control", "no-cache"], [":authority", "www.example.com"]],
        size: 110,
      },
      {
        hex: "828785bf408825a849e95ba97d7f8925a849e95bb8e8b4bf",
        want: [":method", "GET", ":scheme", "https", ":path", "/index.html", ":authority", "www.example.com", "custom-key", "custom-value"],
        table: [["custom-key", "custom-value"], ["cache-control", "no-cache"], [":authority", "www.example.com"]],
        size: 164,
      },
    ],
  },
  {
    name: "C.5 responses without Huffman (table 256: evictions)",
    tableSize: 256,
    steps: [
      {
        hex: "4803333032580770726976617465611d4d6f6e2c203231204f637420323031332032303a31333a323120474d546e1768747470733a2f2f7777772e6578616d706c652e636f6d",
        want: [":status", "302", "cache-control", "private", "date", "Mon, 21 Oct 2013 20:13:21 GMT", "location", "https://www.example.com"],
        table: [["location", "https://www.example.com"], ["date", "Mon, 21 Oct 2013 20:13:21 GMT"], ["cache-control", "private"], [":status", "302"]],
        size: 222,
      },
      {
        hex: "4803333037c1c0bf",
        want: [":status", "307", "cache-control", "private", "date", "Mon, 21 Oct 2013 20:13:21 GMT", "location", "https://www.example.com"],
        table: [[":status", "307"], ["location", "https://www.example.com"], ["date", "Mon, 21 Oct 2013 20:13:21 GMT"], ["cache-control", "private"]],
        size: 222,
      },
      {
        hex: "88c1611d4d6f6e2c203231204f637420323031332032303a31333a323220474d54c05a04677a69707738666f6f3d4153444a4b48514b425a584f5157454f50495541585157454f49553b206d61782d6167653d333630303b2076657273696f6e3d31",
        want: [":status", "200", "cache-control", "private", "date", "Mon, 21 Oct 2013 20:13:22 GMT", "location", "https://www.example.com", "content-encoding", "gzip", "set-cookie", "foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1"],
        table: [["set-cookie", "foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1"], ["content-encoding", "gzip"], ["date", "Mon, 21 Oct 2013 20:13:22 GMT"]],
        size: 215,
      },
    ],
  },
  {
    name: "C.6 responses with Huffman (table 256: evictions)",
    tableSize: 256,
    steps: [
      {
        hex: "488264025885aec3771a4b6196d07abe941054d444a8200595040b8166e082a62d1bff6e919d29ad171863c78f0b97c8e9ae82ae43d3",
        want: [":status", "302", "cache-control", "private", "date", "Mon, 21 Oct 2013 20:13:21 GMT", "location", "https://www.example.com"],
        table: [["location", "https://www.example.com"], ["date", "Mon, 21 Oct 2013 20:13:21 GMT"], ["cache-control", "private"], [":status", "302"]],
        size: 222,
      },
      {
        hex: "4883640effc1c0bf",
        want: [":status", "307", "cache-control", "private", "date", "Mon, 21 Oct 2013 20:13:21 GMT", "location", "https://www.example.com"],
        table: [[":status", "307"], ["location", "https://www.example.com"], ["date", "Mon, 21 Oct 2013 20:13:21 GMT"], ["cache-control", "private"]],
        size: 222,
      },
      {
        hex: "88c16196d07abe941054d444a8200595040b8166e084a62d1bffc05a839bd9ab77ad94e7821dd7f2e6c7b335dfdfcd5b3960d5af27087f3672c1ab270fb5291f9587316065c003ed4ee5b1063d5007",
        want: [":status", "200", "cache-control", "private", "date", "Mon, 21 Oct 2013 20:13:22 GMT", "location", "https://www.example.com", "content-encoding", "gzip", "set-cookie", "foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1"],
        table: [["set-cookie", "foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1"], ["content-encoding", "gzip"], ["date", "Mon, 21 Oct 2013 20:13:22 GMT"]],
        size: 215,
      },
    ],
  },
];

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

describe('HpackDecoder (RFC 7541)', () => {
  for (const series of APPENDIX_C) {
    it(`Appendix ${series.name}`, () => {
      const d = new HpackDecoder(series.tableSize);
      for (const step of series.steps) {
        const out: string[] = [];
        d.decode(hex(step.hex), out);
        expect(out).toEqual(step.want);
        expect(d.entries()).toEqual(step.table);
        expect(d.tableSize).toBe(step.size);
      }
    });
  }

  it('dynamic table size updates: shrink evicts, 0 empties, above our limit or after a field is an error (§4.2, §6.3)', () => {
    const d = new HpackDecoder(4096);
    d.decode(hex('400a637573746f6d2d6b65790c637573746f6d2d76616c7565'), []); // custom-key: custom-value, indexed
    expect(d.tableSize).toBe(54);
    d.decode(hex('20'), []); // size update to 0
    expect(d.entries()).toEqual([]);
    d.decode(hex('3fe11f'), []); // size update to 4096 (5-bit prefix: 31 + 4065)
    expect(() => d.decode(hex('3fe21f'), [])).toThrow(/above the limit/); // 4097
    expect(() => d.decode(hex('8220'), [])).toThrow(/after a header field/);
  });

  it('an entry larger than the table empties it and is not added (§4.4)', () => {
    const d = new HpackDecoder(40);
    d.decode(hex('4001610162'), []); // a: b (size 34)
    expect(d.entries()).toEqual([['a', 'b']]);
    const out: string[] = [];
    d.decode(Buffer.concat([hex('4001630a'), Buffer.from('0123456789')]), out); // c: 0123456789 (size 43)
    expect(out).toEqual(['c', '0123456789']);
    expect(d.entries()).toEqual([]);
    expect(d.tableSize).toBe(0);
  });

  it('malformed blocks throw HpackError: index 0, index beyond the table, truncated integer and string, bad Huffman', () => {
    const cases = ['80', 'be', 'ff', '7f', '4005616263', '0085ffffffffff', '0f'];
    for (const c of cases) expect(() => new HpackDecoder().decode(hex(c), []), c).toThrow(HpackError);
  });

  it('never-indexed and without-indexing literals do not enter the table (§6.2.2, §6.2.3)', () => {
    const d = new HpackDecoder();
    const out: string[] = [];
    d.decode(hex('10016101620001630164'), out); // never indexed a: b; without indexing c: d
    expect(out).toEqual(['a', 'b', 'c', 'd']);
    expect(d.entries()).toEqual([]);
  });
});

describe('encodeFields', () => {
  it('round-trips through the decoder: static names, new names, long values (multi-octet lengths)', () => {
    const long = 'v'.repeat(300);
    const fields = [':path', '/a.B/C', 'content-type', 'application/grpc', 'x-id', 'r-1', 'x-long', long, 'user-agent', 'u'];
    const prefix = Buffer.concat([encodeIndexed(staticIndex(':method', 'POST')), encodeIndexed(staticIndex(':scheme', 'https'))]);
    const out: string[] = [];
    const d = new HpackDecoder();
    d.decode(encodeFields(fields, prefix), out);
    expect(out).toEqual([':method', 'POST', ':scheme', 'https', ...fields]);
    expect(d.entries()).toEqual([]); // nothing indexed on the peer's side
  });

  it('header list size counts octets + 32 per field (RFC 9113 §6.5.2)', () => {
    expect(headerListSize(['ab', 'cde', 'x', ''])).toBe(2 + 3 + 32 + 1 + 32);
  });
});
