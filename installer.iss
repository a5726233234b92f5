; MapBrush Windows installer (Inno Setup 6). Built by `python packaging/build.py` on Windows, which runs
;   ISCC /DDistDir=<dist> /O<dist> installer.iss
; after PyInstaller has made <dist>\MapBrush\ (MapBrush.exe = the window, mapbrush-cli.exe = the command line).
; Per-user install without admin rights by default; an administrator may choose "all users".
; tests/packaging/test_installer_iss.py keeps the names, the version and the AppId in step with the spec.

#define AppName "MapBrush"
#define AppVersion "0.1.0"
#define AppPublisher "MapBrush developers"
#define AppURL "https://github.com/mapbrush/mapbrush"
#define BundleDir "MapBrush"
#define AppExe "MapBrush.exe"
#define CliExe "mapbrush-cli.exe"
#ifndef DistDir
  #define DistDir "dist"
#endif

[Setup]
; Never change the AppId: Windows finds earlier installs (upgrade, uninstall) by it.
AppId={{A7517E37-EFB2-41F4-8933-E63F09C18D4B}
AppName={#AppName}
AppVersion={#AppVersion}
AppVerName={#AppName} {#AppVersion}
AppPublisher={#AppPublisher}
AppPublisherURL={#AppURL}
AppSupportURL={#AppURL}
VersionInfoVersion={#AppVersion}.0
VersionInfoProductName={#AppName}
VersionInfoDescription={#AppName} installer
VersionInfoCompany={#AppPublisher}
DefaultDirName={autopf}\{#AppName}
DefaultGroupName={#AppName}
DisableProgramGroupPage=yes
PrivilegesRequired=lowest
PrivilegesRequiredOverridesAllowed=dialog
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
MinVersion=10.0
SetupIconFile=packaging\icons\mapbrush.ico
UninstallDisplayIcon={app}\{#AppExe}
UninstallDisplayName={#AppName} {#AppVersion}
OutputDir={#DistDir}
OutputBaseFilename={#AppName}-{#AppVersion}-setup
Compression=lzma2/max
SolidCompression=yes
WizardStyle=modern
ChangesAssociations=yes
CloseApplications=yes

[Languages]
Name: "english"; MessagesFile: "compiler:Default.isl"

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked
Name: "assoc"; Description: "Offer MapBrush in ""Open with"" for map files (.gpx .kml .kmz .geojson .osm .osm.pbf)"; GroupDescription: "File types:"

[Files]
Source: "{#DistDir}\{#BundleDir}\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{autoprograms}\{#AppName}"; Filename: "{app}\{#AppExe}"; WorkingDir: "{userdocs}"
Name: "{autodesktop}\{#AppName}"; Filename: "{app}\{#AppExe}"; WorkingDir: "{userdocs}"; Tasks: desktopicon

[Registry]
; "Open with MapBrush" for each map format: a ProgID per format, listed in the extension's OpenWithProgids.
; It does not take over the default program of an extension that already has one.
; Windows associates by the LAST extension, so .osm.pbf is registered as .pbf.
Root: HKA; Subkey: "Software\Classes\Applications\{#AppExe}"; ValueType: string; ValueName: "FriendlyAppName"; ValueData: "{#AppName}"; Flags: uninsdeletekey; Tasks: assoc
Root: HKA; Subkey: "Software\Classes\Applications\{#AppExe}\shell\open\command"; ValueType: string; ValueName: ""; ValueData: """{app}\{#AppExe}"" ""%1"""; Tasks: assoc
Root: HKA; Subkey: "Software\Classes\Applications\{#AppExe}\SupportedTypes"; ValueType: string; ValueName: ".gpx"; ValueData: ""; Tasks: assoc
Root: HKA; Subkey: "Software\Classes\Applications\{#AppExe}\SupportedTypes"; ValueType: string; ValueName: ".kml"; ValueData: ""; Tasks: assoc
Root: HKA; Subkey: "Software\Classes\Applications\{#AppExe}\SupportedTypes"; ValueType: string; ValueName: ".kmz"; ValueData: ""; Tasks: assoc
Root: HKA; Subkey: "Software\Classes\Applications\{#AppExe}\SupportedTypes"; ValueType: string; ValueName: ".geojson"; ValueData: ""; Tasks: assoc
Root: HKA; Subkey: "Software\Classes\Applications\{#AppExe}\SupportedTypes"; ValueType: string; ValueName: ".osm"; ValueData: ""; Tasks: assoc
Root: HKA; Subkey: "Software\Classes\Applications\{#AppExe}\SupportedTypes"; ValueType: string; ValueName: ".pbf"; ValueData: ""; Tasks: assoc
Root: HKA; Subkey: "Software\Classes\MapBrush.gpx"; ValueType: string; ValueName: ""; ValueData: "GPS track (GPX)"; Flags: uninsdeletekey; Tasks: assoc
Root: HKA; Subkey: "Software\Classes\MapBrush.gpx\DefaultIcon"; ValueType: string; ValueName: ""; ValueData: "{app}\{#AppExe},0"; Tasks: assoc
Root: HKA; Subkey: "Software\Classes\MapBrush.gpx\shell\open"; ValueType: string; ValueName: ""; ValueData: "Open with MapBrush"; Tasks: assoc
Root: HKA; Subkey: "Software\Classes\MapBrush.gpx\shell\open\command"; ValueType: string; ValueName: ""; ValueData: """{app}\{#AppExe}"" ""%1"""; Tasks: assoc
Root: HKA; Subkey: "Software\Classes\.gpx\OpenWithProgids"; ValueType: string; ValueName: "MapBrush.gpx"; ValueData: ""; Flags: uninsdeletevalue; Tasks: assoc
Root: HKA; Subkey: "Software\Classes\MapBrush.kml"; ValueType: string; ValueName: ""; ValueData: "Google Earth map (KML)"; Flags: uninsdeletekey; Tasks: assoc
Root: HKA; Subkey: "Software\Classes\MapBrush.kml\DefaultIcon"; ValueType: string; ValueName: ""; ValueData: "{app}\{#AppExe},0"; Tasks: assoc
Root: HKA; Subkey: "Software\Classes\MapBrush.kml\shell\open"; ValueType: string; ValueName: ""; ValueData: "Open with MapBrush"; Tasks: assoc
Root: HKA; Subkey: "Software\Classes\MapBrush.kml\shell\open\command"; ValueType: string; ValueName: ""; ValueData: """{app}\{#AppExe}"" ""%1"""; Tasks: assoc
Root: HKA; Subkey: "Software\Classes\.kml\OpenWithProgids"; ValueType: string; ValueName: "MapBrush.kml"; ValueData: ""; Flags: uninsdeletevalue; Tasks: assoc
Root: HKA; Subkey: "Software\Classes\MapBrush.kmz"; ValueType: string; ValueName: ""; ValueData: "Google Earth map (KMZ)"; Flags: uninsdeletekey; Tasks: assoc
Root: HKA; Subkey: "Software\Classes\MapBrush.kmz\DefaultIcon"; ValueType: string; ValueName: ""; ValueData: "{app}\{#AppExe},0"; Tasks: assoc
Root: HKA; Subkey: "Software\Classes\MapBrush.kmz\shell\open"; ValueType: string; ValueName: ""; ValueData: "Open with MapBrush"; Tasks: assoc
Root: HKA; Subkey: "Software\Classes\MapBrush.kmz\shell\open\command"; ValueType: string; ValueName: ""; ValueData: """{app}\{#AppExe}"" ""%1"""; Tasks: assoc
Root: HKA; Subkey: "Software\Classes\.kmz\OpenWithProgids"; ValueType: string; ValueName: "MapBrush.kmz"; ValueData: ""; Flags: uninsdeletevalue; Tasks: assoc
Root: HKA; Subkey: "Software\Classes\MapBrush.geojson"; ValueType: string; ValueName: ""; ValueData: "GeoJSON map"; Flags: uninsdeletekey; Tasks: assoc
Root: HKA; Subkey: "Software\Classes\MapBrush.geojson\DefaultIcon"; ValueType: string; ValueName: ""; ValueData: "{app}\{#AppExe},0"; Tasks: assoc
Root: HKA; Subkey: "Software\Classes\MapBrush.geojson\shell\open"; ValueType: string; ValueName: ""; ValueData: "Open with MapBrush"; Tasks: assoc
Root: HKA; Subkey: "Software\Classes\MapBrush.geojson\shell\open\command"; ValueType: string; ValueName: ""; ValueData: """{app}\{#AppExe}"" ""%1"""; Tasks: assoc
Root: HKA; Subkey: "Software\Classes\.geojson\OpenWithProgids"; ValueType: string; ValueName: "MapBrush.geojson"; ValueData: ""; Flags: uninsdeletevalue; Tasks: assoc
Root: HKA; Subkey: "Software\Classes\MapBrush.osm"; ValueType: string; ValueName: ""; ValueData: "OpenStreetMap data"; Flags: uninsdeletekey; Tasks: assoc
Root: HKA; Subkey: "Software\Classes\MapBrush.osm\DefaultIcon"; ValueType: string; ValueName: ""; ValueData: "{app}\{#AppExe},0"; Tasks: assoc
Root: HKA; Subkey: "Software\Classes\MapBrush.osm\shell\open"; ValueType: string; ValueName: ""; ValueData: "Open with MapBrush"; Tasks: assoc
Root: HKA; Subkey: "Software\Classes\MapBrush.osm\shell\open\command"; ValueType: string; ValueName: ""; ValueData: """{app}\{#AppExe}"" ""%1"""; Tasks: assoc
Root: HKA; Subkey: "Software\Classes\.osm\OpenWithProgids"; ValueType: string; ValueName: "MapBrush.osm"; ValueData: ""; Flags: uninsdeletevalue; Tasks: assoc
Root: HKA; Subkey: "Software\Classes\MapBrush.pbf"; ValueType: string; ValueName: ""; ValueData: "OpenStreetMap data (PBF)"; Flags: uninsdeletekey; Tasks: assoc
Root: HKA; Subkey: "Software\Classes\MapBrush.pbf\DefaultIcon"; ValueType: string; ValueName: ""; ValueData: "{app}\{#AppExe},0"; Tasks: assoc
Root: HKA; Subkey: "Software\Classes\MapBrush.pbf\shell\open"; ValueType: string; ValueName: ""; ValueData: "Open with MapBrush"; Tasks: assoc
Root: HKA; Subkey: "Software\Classes\MapBrush.pbf\shell\open\command"; ValueType: string; ValueName: ""; ValueData: """{app}\{#AppExe}"" ""%1"""; Tasks: assoc
Root: HKA; Subkey: "Software\Classes\.pbf\OpenWithProgids"; ValueType: string; ValueName: "MapBrush.pbf"; ValueData: ""; Flags: uninsdeletevalue; Tasks: assoc

[Run]
Filename: "{app}\{#AppExe}"; Description: "{cm:LaunchProgram,{#AppName}}"; Flags: nowait postinstall skipifsilent

[Code]
// The uninstaller keeps the person's data (models, the AI runtime, settings, styles, logs: everything
// under %LOCALAPPDATA%\MapBrush, where platformdirs puts it) unless they tick "Remove my data".
var
  RemoveData: Boolean;

function UserDataDir(): String;
begin
  Result := ExpandConstant('{localappdata}\{#AppName}');
end;

function DirSize(const Dir: String): Int64;
var
  Rec: TFindRec;
  Size: Int64;
begin
  Result := 0;
  if FindFirst(Dir + '\*', Rec) then
  try
    repeat
      if (Rec.Name <> '.') and (Rec.Name <> '..') then
      begin
        if Rec.Attributes and FILE_ATTRIBUTE_DIRECTORY <> 0 then
          Result := Result + DirSize(Dir + '\' + Rec.Name)
        else
        begin
          Size := Rec.SizeHigh;
          Result := Result + Size * 4294967296 + Rec.SizeLow;
        end;
      end;
    until not FindNext(Rec);
  finally
    FindClose(Rec);
  end;
end;

function SizeText(Bytes: Int64): String;
begin
  if Bytes >= 1073741824 then
    Result := Format('%.1f GB', [Bytes / 1073741824.0])
  else
    Result := Format('%.0f MB', [Bytes / 1048576.0]);
end;

function InitializeUninstall(): Boolean;
var
  Form: TSetupForm;
  Info: TNewStaticText;
  Check: TNewCheckBox;
  OkButton, CancelButton: TNewButton;
begin
  Result := True;
  RemoveData := False;
  if UninstallSilent() or not DirExists(UserDataDir()) then
    exit;
  Form := CreateCustomForm(ScaleX(420), ScaleY(150), False, True);
  try
    Form.Caption := 'Uninstall {#AppName}';
    Info := TNewStaticText.Create(Form);
    Info.Parent := Form;
    Info.Left := ScaleX(12);
    Info.Top := ScaleY(12);
    Info.Width := Form.ClientWidth - ScaleX(24);
    Info.AutoSize := False;
    Info.WordWrap := True;
    Info.Height := ScaleY(44);
    Info.Caption := 'Your downloaded models, the AI engines, settings and styles are kept in ' + UserDataDir() +
      ' unless you tick the box.';
    Check := TNewCheckBox.Create(Form);
    Check.Parent := Form;
    Check.Left := ScaleX(12);
    Check.Top := ScaleY(62);
    Check.Width := Form.ClientWidth - ScaleX(24);
    Check.Caption := 'Remove my data (' + SizeText(DirSize(UserDataDir())) + ')';
    Check.Checked := False;
    OkButton := TNewButton.Create(Form);
    OkButton.Parent := Form;
    OkButton.Caption := 'Uninstall';
    OkButton.ModalResult := mrOk;
    OkButton.Default := True;
    OkButton.Width := ScaleX(90);
    OkButton.Top := Form.ClientHeight - ScaleY(36);
    OkButton.Left := Form.ClientWidth - ScaleX(196);
    CancelButton := TNewButton.Create(Form);
    CancelButton.Parent := Form;
    CancelButton.Caption := 'Cancel';
    CancelButton.ModalResult := mrCancel;
    CancelButton.Cancel := True;
    CancelButton.Width := ScaleX(90);
    CancelButton.Top := OkButton.Top;
    CancelButton.Left := Form.ClientWidth - ScaleX(100);
    Result := Form.ShowModal() = mrOk;
    RemoveData := Check.Checked;
  finally
    Form.Free();
  end;
end;

procedure CurUninstallStepChanged(CurUninstallStep: TUninstallStep);
begin
  if (CurUninstallStep = usPostUninstall) and RemoveData then
    DelTree(UserDataDir(), True, True, True);
end;
