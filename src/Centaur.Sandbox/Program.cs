// Centaur.Sandbox: the main process inside one sandbox. The runtime arrives with the sandbox issue (#4).
Console.Error.WriteLine("centaur-sandbox: no runtime yet");
return 1;
