package main

import "github.com/google/uuid"

func parseID(s string) (uuid.UUID, error) { return uuid.Parse(s) }
