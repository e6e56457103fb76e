internal import CZlib

/// gzip for `grpc-encoding: gzip` messages, over zlib. Decompression is bounded:
/// a message that inflates past the receive limit is RESOURCE_EXHAUSTED, so a small
/// compressed bomb cannot make the server allocate gigabytes.
public enum Gzip {
    public static func decompress(_ input: [UInt8], limit: Int) throws(RPCError) -> [UInt8] {
        var stream = z_stream()
        guard czlib_inflate_init_gzip(&stream) == Z_OK else {
            throw RPCError(.internal, "gzip: cannot initialise the decompressor")
        }
        defer { inflateEnd(&stream) }
        var output = [UInt8]()
        var chunk = [UInt8](repeating: 0, count: 64 << 10)
        var status: Int32 = Z_OK
        var input = input
        try input.withUnsafeMutableBufferPointer { (inBuf) throws(RPCError) in
            stream.next_in = inBuf.baseAddress
            stream.avail_in = UInt32(inBuf.count)
            while status != Z_STREAM_END {
                let produced: Int = chunk.withUnsafeMutableBufferPointer { outBuf in
                    stream.next_out = outBuf.baseAddress
                    stream.avail_out = UInt32(outBuf.count)
                    status = inflate(&stream, Z_NO_FLUSH)
                    return outBuf.count - Int(stream.avail_out)
                }
                guard status == Z_OK || status == Z_STREAM_END else {
                    throw RPCError(.internal, "gzip: the message is not valid gzip data")
                }
                if output.count + produced > limit {
                    throw RPCError(.resourceExhausted, "decompressed message is over the limit of \(limit) bytes")
                }
                output.append(contentsOf: chunk[0..<produced])
                if produced == 0 && stream.avail_in == 0 && status != Z_STREAM_END {
                    throw RPCError(.internal, "gzip: the message is truncated")
                }
            }
        }
        return output
    }

    public static func compress(_ input: [UInt8], level: Int32 = 6) -> [UInt8] {
        var stream = z_stream()
        guard czlib_deflate_init_gzip(&stream, level) == Z_OK else { return [] }
        defer { deflateEnd(&stream) }
        var output = [UInt8](repeating: 0, count: Int(deflateBound(&stream, UInt(input.count))) + 32)
        var input = input
        let written: Int = input.withUnsafeMutableBufferPointer { inBuf in
            output.withUnsafeMutableBufferPointer { outBuf in
                stream.next_in = inBuf.baseAddress
                stream.avail_in = UInt32(inBuf.count)
                stream.next_out = outBuf.baseAddress
                stream.avail_out = UInt32(outBuf.count)
                _ = deflate(&stream, Z_FINISH)
                return outBuf.count - Int(stream.avail_out)
            }
        }
        output.removeSubrange(written...)
        return output
    }
}
