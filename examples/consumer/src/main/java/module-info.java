/** An application that trains with trady4j on its own memory. */
module io.trady4j.example.consumer {
    requires io.trady4j;
}
