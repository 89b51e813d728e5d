package io.trady4j.backend.cuda;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodType;
import java.util.Arrays;
import java.util.function.Supplier;

/**
 * One function of trady4j.h as a checked call: declared once by its parameter kinds, called with
 * plain Java values. Every function there returns a status; {@link #call} turns a non-zero one into
 * a {@link CudaException} carrying trady4j_last_error() (read on the same thread right after the
 * failing call), TRADY4J_ERR_OUT_OF_MEMORY into a {@link CudaOutOfMemoryException}.
 */
record NativeFunction(String name, Param[] params, MethodHandle spread, Supplier<String> lastError) {
    /** Parameter kinds: C int32, int64/size_t, float, a device pointer or stream (a Java long, 0 = NULL), host memory. */
    enum Param {
        I32(ValueLayout.JAVA_INT), I64(ValueLayout.JAVA_LONG), F32(ValueLayout.JAVA_FLOAT), PTR(ValueLayout.ADDRESS),
        HOST(ValueLayout.ADDRESS);

        final MemoryLayout layout;

        Param(MemoryLayout layout) {
            this.layout = layout;
        }

        Object convert(Object v) {
            return switch (this) {
                case I32 -> ((Number) v).intValue();
                case I64 -> ((Number) v).longValue();
                case F32 -> ((Number) v).floatValue();
                case PTR -> {
                    long a = ((Number) v).longValue();
                    yield a == 0 ? MemorySegment.NULL : MemorySegment.ofAddress(a);
                }
                case HOST -> (MemorySegment) v;
            };
        }
    }

    /** Binds {@code name} of the loaded library; a missing symbol means a library built from other sources. */
    static NativeFunction bind(SymbolLookup lib, String name, Supplier<String> lastError, Param... params) {
        MemorySegment fn = lib.find(name).orElseThrow(() -> new IllegalStateException(
                "the trady4j native library lacks " + name + ": it was built from other sources than this jar"));
        MemoryLayout[] layouts = Arrays.stream(params).map(p -> p.layout).toArray(MemoryLayout[]::new);
        MethodHandle h = Linker.nativeLinker().downcallHandle(fn, FunctionDescriptor.of(ValueLayout.JAVA_INT, layouts));
        return of(name, h, lastError, params);
    }

    /** A checked call over any handle returning an int status (tests bind plain Java methods). */
    static NativeFunction of(String name, MethodHandle statusHandle, Supplier<String> lastError, Param... params) {
        if (statusHandle.type().parameterCount() != params.length || statusHandle.type().returnType() != int.class) {
            throw new IllegalArgumentException(name + ": handle " + statusHandle.type() + " does not take "
                    + params.length + " parameters and return an int status");
        }
        MethodHandle spread = statusHandle.asSpreader(Object[].class, params.length)
                .asType(MethodType.methodType(int.class, Object[].class));
        return new NativeFunction(name, params.clone(), spread, lastError);
    }

    /** Calls the function; a non-zero status throws. */
    void call(Object... args) {
        int st = status(args);
        if (st != 0) {
            throw failure(st);
        }
    }

    /** Calls the function and returns its status as is (for statuses the caller tells apart). */
    int status(Object... args) {
        if (args.length != params.length) {
            throw new IllegalArgumentException(name + " takes " + params.length + " arguments, got " + args.length);
        }
        Object[] converted = new Object[args.length];
        for (int i = 0; i < args.length; i++) {
            converted[i] = params[i].convert(args[i]);
        }
        try {
            return (int) spread.invokeExact(converted);
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException("calling " + name + " failed: " + t, t);
        }
    }

    /** The exception for a failed status, with the native error text. */
    CudaException failure(int status) {
        String text = lastError.get();
        String message = text == null || text.isEmpty() ? name + " failed with status " + status : text;
        return status == Abi.ERR_OUT_OF_MEMORY
                ? new CudaOutOfMemoryException(status, message, -1, -1, -1)
                : new CudaException(status, message);
    }
}
