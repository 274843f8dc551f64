"""Message brokers behind the ``kafka`` components: real Apache Kafka or the embedded log."""
